// Model-wide programming, drift and post-update steps over a model's analog tiles.
#include "analog/nn/inference.h"

#include <memory>

namespace analog::nn {
namespace {

std::vector<AnalogTile> inference_tiles(torch::nn::Module& model, const char* what) {
  std::vector<AnalogTile> tiles;
  for (const auto& t : analog_tiles(model)) {
    if (t->is_inference()) tiles.push_back(t);
  }
  TORCH_CHECK(!tiles.empty(), what,
              ": the model has no inference tiles (analog layers with config type inference)");
  return tiles;
}

}  // namespace

std::vector<AnalogTile> analog_tiles(torch::nn::Module& model) {
  std::vector<AnalogTile> tiles;
  for (const auto& m : model.modules(/*include_self=*/true)) {
    if (auto tile = std::dynamic_pointer_cast<AnalogTileImpl>(m)) tiles.emplace_back(tile);
  }
  return tiles;
}

void program_weights(torch::nn::Module& model) {
  for (auto& t : inference_tiles(model, "program_weights")) t->program_weights();
}

void drift_weights(torch::nn::Module& model, double t_inference) {
  for (auto& t : inference_tiles(model, "drift_weights")) t->drift_weights(t_inference);
}

void post_update_step(torch::nn::Module& model) {
  for (auto& t : analog_tiles(model)) t->post_update_step();
}

}  // namespace analog::nn
