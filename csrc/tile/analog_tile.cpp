// AnalogTile: state, autograd glue and dispatch to the kernels of its device (tile/tile_kernels.h).
#include "analog/tile/analog_tile.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "analog/kernels/pulsed_update_math.h"
#include "analog/kernels/rng.h"
#include "analog/nonfinite_error.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/max_abs.h"
#include "cpu/random_fill.h"
#include "tile/contiguous_rows.h"
#include "tile/kernel_specs.h"
#include "tile/tile_kernels.h"

namespace analog {
namespace {

/// The gradient-mask threshold of aihwkit's tile wrapper.
constexpr double kMaskFraction = 0.999;

/// Whether every element is finite: one integer max pass per row for a float CPU matrix with
/// contiguous rows (as cheap as reading it), at::isfinite (four ops and a sync) otherwise.
bool all_finite(const at::Tensor& t) {
  if (t.device().is_cpu() && t.scalar_type() == at::kFloat && has_contiguous_rows(t)) {
    const float* p = t.data_ptr<float>();
    for (int64_t b = 0; b < t.size(0); ++b) {
      if (cpu::max_abs_bits(p + b * row_stride(t), t.size(1)) >= cpu::kInfBits) return false;
    }
    return true;
  }
  return at::isfinite(t).all().item<bool>();
}

/// max_j |t_ij| of each row of a float matrix (inf or NaN where the row holds one): one pass
/// per row for a CPU matrix with contiguous rows, ATen's reduction otherwise.
std::vector<float> row_max_abs(const at::Tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.size(0)));
  if (t.device().is_cpu() && has_contiguous_rows(t)) {
    const float* p = t.data_ptr<float>();
    for (int64_t b = 0; b < t.size(0); ++b) {
      const uint32_t bits = cpu::max_abs_bits(p + b * row_stride(t), t.size(1));
      out[static_cast<size_t>(b)] = kernels::bits_float(bits);
    }
    return out;
  }
  const at::Tensor m = t.abs().amax(1).cpu().contiguous();
  std::copy(m.data_ptr<float>(), m.data_ptr<float>() + m.numel(), out.begin());
  return out;
}

void check_input(const char* what, const at::Tensor& t, int64_t size, const char* size_name,
                 const at::Device& device) {
  TORCH_CHECK(t.dim() == 2, what, ": expected a 2-d [batch, ", size_name, "] tensor, got ", t.dim(),
              "-d with sizes ", t.sizes());
  TORCH_CHECK(t.size(1) == size, what, ": expected ", size_name, " = ", size,
              ", got input of sizes ", t.sizes());
  TORCH_CHECK(t.scalar_type() == at::kFloat, what, ": expected float32, got ", t.scalar_type());
  TORCH_CHECK(t.device() == device, what, ": expected a tensor on ", device,
              " (the tile's device), got ", t.device());
}

}  // namespace

/// Autograd node of one tile: the forward MVM; in backward the (x, d) record and the backward MVM.
struct AnalogTileFunction : public torch::autograd::Function<AnalogTileFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& weight, AnalogTileImpl* tile) {
    (void)weight;  // an input only so that the output is connected to the graph
    // A column slice of the layer's input (the layer's other tiles read the other columns) is
    // read in place by the kernels, and recorded for the update as it is: no copy.
    const at::Tensor xc = contiguous_rows(x);
    // On CUDA the input's NaN/inf check is reported by backward (synchronize): the host has read
    // the loss by then, so the check does not wait for the GPU.
    MvmResult r = tile->mvm(xc, /*transposed=*/false, tile->mask_bound(), /*defer_check=*/true);
    // x as a saved variable: an input changed in place before the backward pass is an error
    // (torch's own check), not a silently different update.
    ctx->save_for_backward({xc});
    ctx->saved_data["mask"] = r.mask;
    ctx->saved_data["tile"] = reinterpret_cast<int64_t>(tile);
    return r.y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* tile = reinterpret_cast<AnalogTileImpl*>(ctx->saved_data["tile"].toInt());
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor mask = ctx->saved_data["mask"].toTensor();
    const at::Tensor d = grads[0].contiguous();
    tile->synchronize();  // the forward's check and the last update's (CUDA)
    if (tile->is_inference()) {
      // Exact backward on the weights the forward read; the weight gradient goes to the clean
      // weights (straight through the modifier), in the units of the layer's outputs: d before
      // the output scales (aihwkit's delta-weights mode).
      const at::Tensor dm = mask.defined() ? d.masked_fill(mask, 0.0) : d;
      at::Tensor grad_x, grad_w;
      if (ctx->needs_input_grad(0)) grad_x = dm.mm(tile->mvm_weight());
      if (ctx->needs_input_grad(1)) grad_w = dm.div(tile->out_scales_.unsqueeze(0)).t().mm(x);
      return {grad_x, grad_w, at::Tensor()};
    }
    tile->record(x, d);
    at::Tensor grad_x;
    if (ctx->needs_input_grad(0)) {
      grad_x = tile->mvm(mask.defined() ? d.masked_fill(mask, 0.0) : d, /*transposed=*/true, 0.0f,
                         /*defer_check=*/true)
                   .y;
    }
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

AnalogTileImpl::AnalogTileImpl(int64_t out_size, int64_t in_size, RPUConfig config, int64_t seed,
                               int64_t tile_id, bool bias_column)
    : config_(std::move(config)),
      out_size_(out_size),
      in_size_(in_size),
      seed_(seed),
      tile_id_(tile_id),
      bias_column_(bias_column) {
  TORCH_CHECK(out_size > 0 && in_size > 0,
              "AnalogTile: expected positive sizes, got out_size=", out_size,
              ", in_size=", in_size);
  config_.validate();
  forward_spec_ =
      io_spec(config_.forward(), /*use_bm=*/true, /*zero_shortcut_needs_no_inp_noise=*/false);
  backward_spec_ =
      io_spec(config_.backward(), /*use_bm=*/false, /*zero_shortcut_needs_no_inp_noise=*/true);
  reset();
}

void AnalogTileImpl::reset() {
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  weight = register_parameter("weight", at::zeros({out_size_, in_size_}, opts));
  rng_state_ = register_buffer("rng_state", at::tensor({seed_, tile_id_, int64_t{1}}, at::kLong));
  DeviceArrays dev;
  if (is_floating_point() || is_inference()) {
    const auto empty = at::empty({0, 0}, opts);
    dev = {at::empty({0, 0, 4}, opts), empty, empty, empty, at::empty({0, 0, 2}, opts)};
  } else {
    const int64_t cs = config_.device().construction_seed();
    const uint64_t dev_key =
        cs != 0 ? kernels::stream_key(static_cast<uint64_t>(cs), static_cast<uint64_t>(tile_id_))
                : key();
    dev = cpu::sample_devices_cpu(config_.device(), out_size_, in_size_, bias_column_, dev_key);
  }
  devices_ = register_buffer("devices", dev.params);
  diffusion_rate_ = register_buffer("diffusion_rate", dev.diffusion_rate);
  decay_scale_ = register_buffer("decay_scale", dev.decay_scale);
  reset_bias_ = register_buffer("reset_bias", dev.reset_bias);
  // Only LinearStep tiles have slopes: the state of the other tiles stays as it was (their
  // checkpoints from before device models load as they are).
  slopes_ = dev.slopes.numel() > 0 ? register_buffer("slopes", dev.slopes) : dev.slopes;
  if (is_inference()) reset_inference_state();
  pending_x_.clear();
  pending_d_.clear();
  deferred_checks_.clear();
  counters_ = at::zeros({kCounters}, at::kLong);
  host_events_ = TileEvents{};
}

int64_t* AnalogTileImpl::counter(Counter k) {
  if (counters_.device() != weight.device()) counters_ = counters_.to(weight.device());
  return counters_.data_ptr<int64_t>() + k;
}

TileEvents AnalogTileImpl::events() const {
  TileEvents e = host_events_;
  e.rows = in_size_;
  e.cols = out_size_;
  const at::Tensor c = counters_.cpu();  // (waits for the kernels that add to it)
  const int64_t* v = c.data_ptr<int64_t>();
  e.forward.passes += v[kForwardPasses];
  e.backward.passes += v[kBackwardPasses];
  e.update_slots += v[kUpdateCounts + kSlotsCounted];
  e.pulses += v[kUpdateCounts + kPulsesCounted];
  e.devices_touched += v[kUpdateCounts + kTouchedCounted];
  e.bl_wanted = std::max(e.bl_wanted, v[kUpdateCounts + kBlWantedCounted]);
  return e;
}

void AnalogTileImpl::reset_events() {
  counters_.zero_();
  host_events_ = TileEvents{};
}

uint64_t AnalogTileImpl::key() const {
  TORCH_CHECK(rng_state_.is_cpu(),
              "AnalogTile: the call counter must stay on the CPU (move tiles with to(), not "
              "clone(device))");
  const int64_t* s = rng_state_.data_ptr<int64_t>();
  return kernels::stream_key(static_cast<uint64_t>(s[0]), static_cast<uint64_t>(s[1]));
}

uint64_t AnalogTileImpl::next_call() const {
  TORCH_CHECK(rng_state_.is_cpu(),
              "AnalogTile: the call counter must stay on the CPU (move tiles with to(), not "
              "clone(device))");
  return static_cast<uint64_t>(rng_state_.data_ptr<int64_t>()[2]);
}

uint64_t AnalogTileImpl::take_calls(uint64_t n) {
  TORCH_CHECK(rng_state_.is_cpu(),
              "AnalogTile: the call counter must stay on the CPU (move tiles with to(), not "
              "clone(device))");
  int64_t* s = rng_state_.data_ptr<int64_t>();
  const auto first = static_cast<uint64_t>(s[2]);
  s[2] = static_cast<int64_t>(first + n);
  return first;
}

void AnalogTileImpl::skip_forward_passes(int64_t passes) {
  TORCH_CHECK(passes >= 0, "AnalogTile.skip_forward_passes: expected passes >= 0, got ", passes);
  // NB: mirrors mvm(): one call number an MVM, none for a floating-point tile.
  if (!is_floating_point()) take_calls(static_cast<uint64_t>(passes));
}

at::Tensor AnalogTileImpl::forward(const at::Tensor& x) {
  if (at::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad())) {
    check_input("AnalogTile.forward", x, in_size_, "in_size", weight.device());
    const at::Tensor y = AnalogTileFunction::apply(x, weight, this);
    return is_inference() ? scale_outputs(y) : y;
  }
  const at::Tensor y = forward_mvm(x);
  return is_inference() ? scale_outputs(y) : y;
}

void AnalogTileImpl::synchronize() {
  std::vector<std::function<void()>> checks;
  checks.swap(deferred_checks_);
  for (const auto& c : checks) c();  // the first failure is reported; the later checks are dropped
}

void AnalogTileImpl::run_check(std::function<void()> check, bool defer) {
  if (!check) return;
  // A handful per training step; a caller that never syncs (forward passes without backward)
  // still gets its errors, at most this many passes late.
  constexpr size_t kMaxDeferred = 16;
  if (defer && deferred_checks_.size() < kMaxDeferred) {
    deferred_checks_.push_back(std::move(check));
    return;
  }
  synchronize();
  check();
}

void AnalogTileImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  TORCH_CHECK(dtype == torch::kFloat, "AnalogTile: only float32 is supported, got ", dtype);
  to(device, non_blocking);
}

void AnalogTileImpl::to(torch::Dtype dtype, bool non_blocking) {
  TORCH_CHECK(dtype == torch::kFloat, "AnalogTile: only float32 is supported, got ", dtype);
  (void)non_blocking;
}

void AnalogTileImpl::to(torch::Device device, bool non_blocking) {
  // The call counter stays on the host: it is read and advanced on every call.
  const at::Tensor calls = rng_state_.clone();
  torch::nn::Module::to(device, non_blocking);
  rng_state_.set_data(calls);
  counters_ = counters_.to(device);
  pending_x_.clear();
  pending_d_.clear();
  // What the kernels found on the old device is reported, not lost with the move; after it, so
  // that an error does not leave a model half moved.
  synchronize();
}

at::Tensor AnalogTileImpl::forward_mvm(const at::Tensor& x, at::Tensor* mask_out,
                                       bool defer_check) {
  check_input("AnalogTile.forward", x, in_size_, "in_size", weight.device());
  MvmResult r =
      mvm(contiguous_rows(x), /*transposed=*/false, mask_out ? mask_bound() : 0.0f, defer_check);
  if (mask_out) *mask_out = r.mask;
  return r.y;
}

at::Tensor AnalogTileImpl::backward_mvm(const at::Tensor& d, bool defer_check) {
  check_input("AnalogTile.backward", d, out_size_, "out_size", weight.device());
  return mvm(d.contiguous(), /*transposed=*/true, 0.0f, defer_check).y;
}

float AnalogTileImpl::mask_bound() const {
  const double bound = config_.forward().out_bound();
  return bound > 0 ? static_cast<float>(kMaskFraction * bound) : 0.0f;
}

const at::Tensor& AnalogTileImpl::mvm_weight() const {
  const bool modified = modified_weight_.defined() && modified_weight_.numel() > 0 &&
                        (is_training() || config_.modifier().enable_during_test());
  return modified ? modified_weight_ : weight;
}

MvmResult AnalogTileImpl::mvm(const at::Tensor& x, bool transposed, float mask_bound,
                              bool defer_check, const at::Tensor* w_in) {
  at::NoGradGuard no_grad;
  const char* what = transposed ? "AnalogTile.backward" : "AnalogTile.forward";
  const at::Tensor& w = w_in ? *w_in : mvm_weight();
  MvmEvents& events = transposed ? host_events_.backward : host_events_.forward;
  MvmResult r;
  if (is_floating_point()) {
    if (!transposed) {
      ANALOG_CHECK_FINITE(all_finite(x),
                          "AnalogTile.forward: expected finite inputs, got NaN or inf");
    }
    r.y = x.mm(transposed ? w : w.t());
    ++events.calls;
    events.samples += x.size(0);
    events.passes += x.size(0);
    return r;
  }
  // NB: one call number an MVM, as skip_forward_passes() assumes.
  const uint64_t call = take_calls(1);
  const kernels::IoSpec& spec = transposed ? backward_spec_ : forward_spec_;
  r = kernels_on(weight.device(), what)
          .io_mvm(x, w, transposed, spec, key(), call, what, mask_bound,
                  counter(transposed ? kBackwardPasses : kForwardPasses));
  ++events.calls;
  events.samples += x.size(0);
  if (spec.is_perfect) events.passes += x.size(0);  // (exact: one pass each, counted here)
  run_check(std::move(r.check), defer_check);
  return r;
}

void AnalogTileImpl::record(const at::Tensor& x, const at::Tensor& d) {
  check_input("AnalogTile.record", x, in_size_, "in_size", weight.device());
  check_input("AnalogTile.record", d, out_size_, "out_size", weight.device());
  TORCH_CHECK(x.size(0) == d.size(0), "AnalogTile.record: x has ", x.size(0), " rows but d has ",
              d.size(0));
  // detach() only where there may be a graph to cut (a tensor that requires grad, or a view of
  // one): each call is a dispatch (a launch-bound GPU step pays for every one). A step's pairs are
  // often free of one: the first layer's x (or its column slices) and the d autograd hands over.
  const auto detached = [](const at::Tensor& t) {
    return t.requires_grad() || (t.is_view() && t._base().requires_grad()) ? t.detach() : t;
  };
  pending_x_.push_back(contiguous_rows(detached(x)));
  pending_d_.push_back(detached(d).contiguous());
}

int64_t AnalogTileImpl::pending_samples() const {
  int64_t n = 0;
  for (const auto& x : pending_x_) n += x.size(0);
  return n;
}

int64_t AnalogTileImpl::pending_bl_wanted(double lr) const {
  const UpdateParameters& up = config_.update();
  if (pending_x_.empty() || lr == 0 || is_floating_point() || is_inference() ||
      up.pulse_type() == PulseType::kNone || up.pulse_type() == PulseType::kNoneWithDevice) {
    return 0;
  }
  const kernels::UpdateSpec spec = update_spec(up, config_.device(), static_cast<float>(lr));
  constexpr float kInf = std::numeric_limits<float>::infinity();
  int64_t wanted = 0;
  for (size_t k = 0; k < pending_x_.size(); ++k) {
    const std::vector<float> x_max = row_max_abs(pending_x_[k]), d_max = row_max_abs(pending_d_[k]);
    for (size_t s = 0; s < x_max.size(); ++s) {
      if (!(x_max[s] < kInf) || !(d_max[s] < kInf)) continue;  // (NaN too)
      const kernels::PulsePlan plan =
          kernels::plan_pulses(spec.lr, spec.dw_min, x_max[s], d_max[s], spec.desired_bl,
                               spec.fixed_bl, spec.ublm, spec.um, spec.um_grad_scale);
      wanted = std::max(wanted, kernels::bl_wanted(plan, spec.ublm, kBlUnbounded));
    }
  }
  return wanted;
}

void AnalogTileImpl::copy_run_state(const AnalogTileImpl& from) {
  TORCH_CHECK(from.out_size_ == out_size_ && from.in_size_ == in_size_ &&
                  from.weight.device() == weight.device(),
              "AnalogTile.copy_run_state: expected a ", out_size_, " x ", in_size_, " tile on ",
              weight.device(), ", got ", from.out_size_, " x ", from.in_size_, " on ",
              from.weight.device());
  pending_x_ = from.pending_x_;
  pending_d_ = from.pending_d_;
  deferred_checks_ = from.deferred_checks_;
  counters_ = from.counters_.clone();
  host_events_ = from.host_events_;
}

void AnalogTileImpl::update(double lr) { update_all({this}, lr); }

bool AnalogTileImpl::begin_update(double lr, UpdateJob& job) {
  TORCH_CHECK(std::isfinite(lr) && lr >= 0, "AnalogTile.update: expected a finite lr >= 0, got ",
              lr);
  if (pending_x_.empty()) return false;
  at::NoGradGuard no_grad;
  const at::Tensor x = pending_x_.size() == 1 ? pending_x_[0] : at::cat(pending_x_, 0);
  const at::Tensor d = pending_d_.size() == 1 ? pending_d_[0] : at::cat(pending_d_, 0);
  pending_x_.clear();
  pending_d_.clear();
  if (lr == 0) return false;
  // The pulsed-update kernels check x and d themselves (the CPU fused with its max passes, the
  // CUDA inside its plan kernel), before they change any weight; the exact float update here.
  if (is_floating_point() || config_.update().pulse_type() == PulseType::kNone) {
    ANALOG_CHECK_FINITE(all_finite(x),
                        "AnalogTile.update: expected finite inputs x, got NaN or inf");
    ANALOG_CHECK_FINITE(all_finite(d),
                        "AnalogTile.update: expected finite gradients d, got NaN or inf");
    weight.addmm_(d.t(), x, /*beta=*/1.0, /*alpha=*/-lr);
    ++host_events_.update_calls;
    host_events_.update_samples += x.size(0);
    return false;
  }
  const UpdateParameters& up = config_.update();
  const int slots = kernels::max_pulse_slots(
      static_cast<float>(lr), static_cast<float>(config_.device().dw_min()),
      static_cast<int>(up.desired_bl()), up.fixed_bl(), up.update_bl_management());
  TORCH_CHECK(slots <= kernels::kMaxPulseSlots, "AnalogTile.update: lr = ", lr,
              " and device.dw_min = ", config_.device().dw_min(), " ask for ", slots,
              " pulse slots without BL management (",
              "update.fixed_bl and update.update_bl_management false); at most ",
              kernels::kMaxPulseSlots, " are supported");
  // Sample s draws with call number first + s; the counter advances once the update has been
  // accepted (on the CPU a rejected batch leaves the streams where they were; on CUDA, where the
  // check is deferred, it advances: the run has diverged either way). The kernels write the
  // weights through their data (no autograd op: no detach() needed, which would be a dispatch;
  // under the no-grad guard a CPU copy's copy_ back is allowed too).
  job = UpdateJob{weight,
                  DeviceArrays{devices_, diffusion_rate_, decay_scale_, reset_bias_, slopes_},
                  x,
                  d,
                  &up,
                  &config_.device(),
                  static_cast<float>(lr),
                  key(),
                  next_call(),
                  counter(kUpdateCounts)};
  return true;
}

void update_tiles(const std::vector<AnalogTile>& tiles, double lr) {
  std::vector<AnalogTileImpl*> impls;
  impls.reserve(tiles.size());
  for (const auto& holder : tiles)
    impls.push_back(holder.ptr().get());  // (the holder's -> is const here)
  AnalogTileImpl::update_all(impls, lr);
}

void AnalogTileImpl::update_all(const std::vector<AnalogTileImpl*>& tiles, double lr) {
  // The jobs, grouped by the kernels that run them (all of a model's tiles are usually on one
  // device: one group).
  struct Group {
    const TileKernels* kernels;
    std::vector<AnalogTileImpl*> tiles;
    std::vector<UpdateJob> jobs;
  };
  at::NoGradGuard no_grad;  // (the kernels write the weight parameters)
  std::vector<Group> groups;
  // The first error, thrown at the end: as tile by tile, a tile whose update throws and the
  // tiles after it are not updated (they keep their pairs), the tiles before it are.
  std::exception_ptr error;
  for (AnalogTileImpl* tile : tiles) {
    try {
      UpdateJob job;
      if (!tile->begin_update(lr, job)) continue;
      const TileKernels* k = &kernels_on(tile->weight.device(), "AnalogTile.update");
      auto group = std::find_if(groups.begin(), groups.end(),
                                [&](const Group& g) { return g.kernels == k; });
      if (group == groups.end()) group = groups.insert(groups.end(), Group{k, {}, {}});
      group->tiles.push_back(tile);
      group->jobs.push_back(std::move(job));
    } catch (...) {
      error = std::current_exception();
      break;
    }
  }
  bool stopped = false;  // a job was rejected at once: the jobs after it do not run
  for (auto& g : groups) {
    std::vector<UpdateResult> results;
    if (!stopped) {
      try {
        results = g.kernels->pulsed_update(g.jobs);  // (throws only before it changes anything)
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
    stopped =
        stopped || results.size() < g.jobs.size() || (!results.empty() && !results.back().applied);
    // Every tile's counter (or, for a job not run, its pairs back), then every check (deferred
    // unless the job was rejected at once; one that throws, an older finding of its tile, does
    // not drop the later tiles' checks).
    for (size_t i = 0; i < g.tiles.size(); ++i) {
      if (i >= results.size()) {
        g.tiles[i]->pending_x_.assign(1, g.jobs[i].x);
        g.tiles[i]->pending_d_.assign(1, g.jobs[i].d);
      } else if (results[i].applied) {
        g.tiles[i]->take_calls(static_cast<uint64_t>(g.jobs[i].x.size(0)));
        ++g.tiles[i]->host_events_.update_calls;
        g.tiles[i]->host_events_.update_samples += g.jobs[i].x.size(0);
      }
    }
    for (size_t i = 0; i < results.size(); ++i) {
      try {
        g.tiles[i]->run_check(std::move(results[i].check), /*defer=*/results[i].applied);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

void AnalogTileImpl::post_update_step() {
  if (is_inference()) {
    inference_post_update_step();
    return;
  }
  if (is_floating_point()) return;
  at::NoGradGuard no_grad;
  const bool diffusion = diffusion_rate_.numel() > 0;
  const bool decay = decay_scale_.numel() > 0;
  if (!diffusion && !decay) return;
  at::Tensor w = weight.detach();
  if (diffusion) {
    const uint64_t call = take_calls(1);
    at::Tensor z = at::empty(w.sizes(), w.options().device(at::kCPU));
    cpu::fill_normals({key(), call, kernels::Domain::kDiffusion, 0}, 0, z.numel(),
                      z.data_ptr<float>());
    w.add_(diffusion_rate_ * z.to(w.device()));
  }
  if (decay) w.sub_(reset_bias_).mul_(decay_scale_).add_(reset_bias_);
  w.copy_(at::max(at::min(w, w_max()), w_min()));
}

void AnalogTileImpl::set_weights(const at::Tensor& w_in) {
  TORCH_CHECK(w_in.dim() == 2 && w_in.size(0) == out_size_ && w_in.size(1) == in_size_,
              "AnalogTile.set_weights: expected [", out_size_, ", ", in_size_, "], got ",
              w_in.sizes());
  at::NoGradGuard no_grad;
  const at::Tensor w = w_in.to(weight.device(), at::kFloat);
  TORCH_CHECK(all_finite(w), "AnalogTile.set_weights: expected finite weights, got NaN or inf");
  if (is_inference()) {
    weight.copy_(w);
    forget_inference_state();
  } else if (is_floating_point()) {
    weight.copy_(w);
  } else {
    weight.copy_(at::max(at::min(w, w_max()), w_min()));
  }
}

at::Tensor AnalogTileImpl::get_weights() const {
  if (is_inference()) return weight.detach() * out_scales_.unsqueeze(1);
  return weight.detach().clone();
}

}  // namespace analog
