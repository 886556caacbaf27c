// Uses the public API of an installed analogtorch: one analog layer, one training step.
#include <analog/analog.h>

#include <iostream>

int main() {
  analog::RPUConfig cfg;
  cfg.forward().out_noise(0.1);
  analog::nn::AnalogLinear layer(analog::nn::AnalogLinearOptions(8, 4).rpu_config(cfg).seed(1));
  analog::optim::AnalogSGD opt(*layer, analog::optim::AnalogSGDOptions(0.1));
  const at::Tensor x = at::rand({16, 8});
  const at::Tensor w0 = layer->get_weights();
  layer->forward(x).pow(2).sum().backward();
  opt.step();
  const bool changed = !layer->get_weights().equal(w0);
  std::cout << "consumer: tiles=" << layer->tiles().size() << " changed=" << changed << std::endl;
  return changed ? 0 : 1;
}
