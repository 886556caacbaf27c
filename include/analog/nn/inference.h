// Model-wide operations on analog tiles: deployment (programming, drift) and the per-step
// processing an optimizer of one's own must call.
#pragma once
#include <vector>

#include <torch/nn/module.h>

#include "analog/tile/analog_tile.h"

namespace analog::nn {

/// Every AnalogTile of `model` (and `model` itself if it is one), depth first.
std::vector<AnalogTile> analog_tiles(torch::nn::Module& model);

/// program_weights() of every inference tile of `model`: each tile's devices take its
/// reference weights, with fresh programming noise and drift exponents. Throws when the model
/// has no inference tile.
void program_weights(torch::nn::Module& model);

/// drift_weights(t_inference) of every inference tile: the model as read `t_inference` >= 0
/// seconds after programming (programmed first where it was not). Throws as program_weights.
void drift_weights(torch::nn::Module& model, double t_inference);

/// post_update_step() of every tile: for a model trained with a torch optimizer other than
/// AnalogSGD, call it after each step (AnalogSGD does): inference tiles clip, remap and draw
/// their modifier's noise; pulsed tiles run diffusion and decay.
///
/// Example (hardware-aware training with Adam):
///   torch::optim::Adam opt(model->parameters(), 1e-3);
///   opt.zero_grad(); loss.backward(); opt.step(); analog::nn::post_update_step(*model);
void post_update_step(torch::nn::Module& model);

}  // namespace analog::nn
