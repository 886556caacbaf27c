// PopulationTiles: the batched MVMs and the autograd node of a population's tiles.
#include "tile/population_tiles.h"

#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "tile/tile_kernels.h"

namespace analog {

/// The autograd node of PopulationTiles::forward (AnalogTileFunction for P points).
struct PopulationFunction : public torch::autograd::Function<PopulationFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& anchor, PopulationTiles* tiles) {
    (void)anchor;  // an input only so that the output is connected to the graph
    MvmResult r = tiles->mvm(x, /*transposed=*/false, /*mask=*/true);
    ctx->save_for_backward({x});
    ctx->saved_data["mask"] = r.mask;
    ctx->saved_data["tiles"] = reinterpret_cast<int64_t>(tiles);
    return r.y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* tiles = reinterpret_cast<PopulationTiles*>(ctx->saved_data["tiles"].toInt());
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor mask = ctx->saved_data["mask"].toTensor();
    const at::Tensor d = grads[0].contiguous();
    for (size_t p = 0; p < tiles->tiles_.size(); ++p) {
      if (tiles->active_[p])
        tiles->tiles_[p]->record(x.select(0, static_cast<int64_t>(p)),
                                 d.select(0, static_cast<int64_t>(p)));
    }
    at::Tensor grad_x;
    if (ctx->needs_input_grad(0)) {
      grad_x = tiles
                   ->mvm(mask.defined() ? d.masked_fill(mask, 0.0) : d, /*transposed=*/true,
                         /*mask=*/false)
                   .y;
    }
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

PopulationTiles::PopulationTiles(std::vector<AnalogTile> tiles) : tiles_(std::move(tiles)) {
  TORCH_CHECK(!tiles_.empty(), "PopulationTiles: expected at least one tile");
  active_.assign(tiles_.size(), true);
  const AnalogTileImpl& first = *tiles_.front();
  std::vector<at::Tensor> weights;
  for (size_t p = 0; p < tiles_.size(); ++p) {
    const AnalogTileImpl& t = *tiles_[p];
    TORCH_CHECK(t.config().type() == TileType::kSingleDevice, "PopulationTiles: point ", p,
                " has a tile of another type than single_device");
    TORCH_CHECK(t.out_size() == first.out_size() && t.in_size() == first.in_size() &&
                    t.weight.device() == first.weight.device(),
                "PopulationTiles: point ", p, "'s tile is [", t.out_size(), ", ", t.in_size(),
                "] on ", t.weight.device(), ", point 0's [", first.out_size(), ", ",
                first.in_size(), "] on ", first.weight.device());
    for (const bool back : {false, true}) {
      const kernels::IoSpec& a = back ? t.backward_spec_ : t.forward_spec_;
      const kernels::IoSpec& b = back ? first.backward_spec_ : first.forward_spec_;
      TORCH_CHECK(a.is_perfect == b.is_perfect && a.w_noise_type == b.w_noise_type,
                  "PopulationTiles: point ", p, "'s ", back ? "backward" : "forward",
                  " IO differs from point 0's in is_perfect or the weight-noise type");
    }
    TORCH_CHECK((t.mask_bound() > 0.0f) == (first.mask_bound() > 0.0f), "PopulationTiles: point ",
                p, "'s forward out_bound is ", t.config().forward().out_bound(), ", point 0's ",
                first.config().forward().out_bound(), " (bounded in all points or in none)");
    weights.push_back(t.weight.detach());
  }
  at::NoGradGuard no_grad;
  weights_ = at::stack(weights);
  for (size_t p = 0; p < tiles_.size(); ++p)
    tiles_[p]->weight.set_data(weights_.select(0, static_cast<int64_t>(p)));
  anchor_ = at::zeros({}, weights_.options()).set_requires_grad(true);
}

at::Tensor PopulationTiles::forward(const at::Tensor& x) {
  const AnalogTileImpl& first = *tiles_.front();
  TORCH_CHECK(x.dim() == 3 && x.size(0) == size() && x.size(2) == first.in_size(),
              "PopulationTiles.forward: expected x [", size(), ", B, ", first.in_size(), "], got ",
              x.sizes());
  if (at::GradMode::is_enabled()) return PopulationFunction::apply(x, anchor_, this);
  return mvm(x, /*transposed=*/false, /*mask=*/false).y;
}

MvmResult PopulationTiles::mvm(const at::Tensor& x, bool transposed, bool mask) {
  at::NoGradGuard no_grad;
  const char* what = transposed ? "PopulationTiles.backward" : "PopulationTiles.forward";
  const TileKernels& k = kernels_on(weights_.device(), what);
  TORCH_CHECK(k.io_mvm_points != nullptr, what, ": the ", k.name,
              " kernels have no population MVM");
  std::vector<kernels::IoPoint> points;
  points.reserve(tiles_.size());
  const int64_t batch = x.size(1);
  for (size_t p = 0; p < tiles_.size(); ++p) {
    AnalogTileImpl& t = *tiles_[p];
    const kernels::IoSpec& spec = transposed ? t.backward_spec_ : t.forward_spec_;
    const float bound = mask ? t.mask_bound() : 0.0f;
    if (!active_[p]) {  // it runs, but takes no call and counts nothing: it has stopped
      points.push_back({spec, t.key(), t.next_call(), nullptr, bound});
      continue;
    }
    points.push_back(
        {spec, t.key(), t.take_calls(1),
         t.counter(transposed ? AnalogTileImpl::kBackwardPasses : AnalogTileImpl::kForwardPasses),
         bound});
    MvmEvents& events = transposed ? t.host_events_.backward : t.host_events_.forward;
    ++events.calls;
    events.samples += batch;
    if (spec.is_perfect) events.passes += batch;  // (exact: one pass each, counted here)
  }
  const at::Tensor xr = x.size(2) > 1 && x.stride(2) != 1 ? x.contiguous() : x;
  return k.io_mvm_points(xr, weights_, transposed, points, what);
}

}  // namespace analog
