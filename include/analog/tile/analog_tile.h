// AnalogTile: one crossbar array with its devices, IO periphery, random streams and update.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "analog/config/rpu_config.h"
#include "analog/energy/events.h"
#include "analog/kernels/io_pipeline_math.h"

namespace analog {

class AnalogTile;
struct AnalogTileFunction;
struct MvmResult;
struct UpdateJob;

/// One simulated crossbar of `out_size` x `in_size` devices (a slice of an analog layer).
///
/// State (all saved by torch::save): the `weight` parameter [out, in]; the per-device buffer
/// `devices` [out, in, 4] = (w_min, w_max, dw_up, dw_down) per device (packed: one pulse reads
/// one 16-byte record), plus `diffusion_rate`, `decay_scale`, `reset_bias` [out, in] when the
/// device uses them and, for LinearStep devices only, `slopes` [out, in, 2] = (slope_up,
/// slope_down); `rng_state` = {seed, tile id, next call}.
/// Every random number is Philox(key(seed, tile id), call, domain, element), so a tile replays
/// bit for bit from its state, on any thread count.
class AnalogTileImpl : public torch::nn::Cloneable<AnalogTileImpl> {
 public:
  /// `bias_column`: the last input column is the analog bias (fed with 1 by the layer).
  AnalogTileImpl(int64_t out_size, int64_t in_size, RPUConfig config, int64_t seed, int64_t tile_id,
                 bool bias_column = false);

  /// (Re)draws the devices and sets the weights to 0.
  void reset() override;

  /// Moves weights and devices (the call counter stays on the host; queued pairs are dropped).
  /// Then reports what the deferred checks found (as synchronize()), after the move.
  /// A tile on a CUDA device runs the CUDA kernels (same semantics and random streams).
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;

  /// y = tile(x), x [B, in] float32 -> [B, out]. With grad mode on, the backward pass runs the
  /// backward IO pipeline (if x needs a gradient) and records (x, d) for the next update().
  at::Tensor forward(const at::Tensor& x);

  /// Forward IO pipeline alone (no autograd, nothing recorded). `mask_out`, if given, receives
  /// the gradient mask |y| >= 0.999 out_bound (undefined when it does not apply). A NaN or inf
  /// in x throws NonFiniteError; with `defer_check` a CUDA tile reports it at its next
  /// synchronize() instead, so that the host does not wait for the GPU here.
  at::Tensor forward_mvm(const at::Tensor& x, at::Tensor* mask_out = nullptr,
                         bool defer_check = false);
  /// Backward IO pipeline alone: d [B, out] -> W^T d [B, in], no bound management. NaN/inf as
  /// forward_mvm.
  at::Tensor backward_mvm(const at::Tensor& d, bool defer_check = false);

  // The update, for an optimizer of one's own: record() (the backward pass does it), then per
  // step update(lr) and post_update_step(), as AnalogSGD does.
  /// Queues one (x, d) batch for the next update(); x [B, in], d [B, out].
  void record(const at::Tensor& x, const at::Tensor& d);
  /// Applies and clears the queued pairs: the pulsed update with learning rate lr
  /// (the exact float update W -= lr sum d x^T for a floating-point tile). A NaN or inf in the
  /// pairs applies no pulse and throws NonFiniteError: at once on the CPU, at the tile's next
  /// synchronize() on CUDA (where update() returns normally: the call counter advances, and
  /// AnalogSGD still runs the step's post_update_step, decay and diffusion if configured).
  void update(double lr);
  /// Reports what a CUDA tile's kernels found and the host has not looked at yet: NaN or inf in
  /// the inputs of its training forward passes, backward passes and updates (NonFiniteError, the
  /// first in order). Waits for that work if it is still running. The tile calls it at the start
  /// of each backward pass (after the loss was read, so nothing waits) and before a forward pass
  /// without autograd; a CPU tile reports at once and has nothing to do here.
  void synchronize();
  /// Per-step device processes (diffusion, decay); called by AnalogSGD after update().
  void post_update_step();
  /// Number of recorded samples waiting for update().
  int64_t pending_samples() const;
  /// The longest pulse train BL management asks for in the recorded samples' update at `lr`
  /// (kernels::bl_wanted of each sample's plan; 0 where nothing would be pulsed, a sample with a
  /// NaN or inf included, which the update rejects): an update with any desired_bl at least this
  /// gives every sample the same plan. Reads the pairs (a sync on CUDA).
  int64_t pending_bl_wanted(double lr) const;
  /// Takes over what a training of `from` holds beside its parameters and buffers (which the
  /// caller copies): the recorded pairs (shared, not copied: neither tile writes them), the event
  /// counts and the deferred checks. `from` has this tile's shape and device; unchanged.
  void copy_run_state(const AnalogTileImpl& from);

  /// What the tile's hardware has done since it was made or since reset_events(): its MVMs
  /// (every forward_mvm, backward_mvm and training pass, an inference tile's drift-compensation
  /// reads included; exact MVMs count one pass per sample), the updates' calls and samples, the
  /// pulsed updates' slots, pulses and devices touched. Counted by the kernels where they happen;
  /// reading waits for a CUDA tile's queued work. An inference tile's exact training backward
  /// pass and its gradient step are digital: not counted. NB: a batch holding a NaN or inf counts
  /// nothing on the CPU, which rejects it at once; on CUDA, which reports it later, its MVMs and
  /// update count as run (the run has diverged either way).
  TileEvents events() const;
  /// Sets every count of events() to 0.
  void reset_events();

  /// Writes weights [out, in], clipped to each device's bounds (exactly for floating point and
  /// inference tiles; an inference tile's output scales become 1 and its programming is dropped).
  void set_weights(const at::Tensor& w);
  /// A copy of the weights [out, in] (an inference tile's: times its output scales).
  at::Tensor get_weights() const;

  // Inference tiles (config type inference). Such a tile is trained by gradient: its forward
  // pass in training mode reads the modifier's noisy copy of the weights (from the second
  // optimizer step on), the backward pass is exact on the same weights and hands the weight
  // gradient to `weight.grad()`; after the optimizer's step post_update_step() clips, remaps and
  // draws the next noisy copy. Outputs are scaled digitally by the output scales (remap) and, in
  // eval mode, by the drift compensation's alpha.
  bool is_inference() const { return config_.type() == TileType::kInference; }
  /// Programs the devices (noise_model) with the reference weights: the weights when first
  /// programmed since the last set_weights or optimizer step. Draws the programming noise and
  /// each device's drift exponent anew from the tile's streams (the same seed and sequence of
  /// calls programs the same conductances); the tile then holds the programmed weights, read at
  /// t = 0 without read noise. With global drift compensation it reads the reference output
  /// level (alpha becomes 1).
  void program_weights();
  /// The weights read `t_inference` >= 0 seconds after programming: drift and 1/f read noise on
  /// the programmed devices (programs first if needed; repeated calls share one programming and
  /// draw new read noise). With global drift compensation alpha becomes the reference level over
  /// the drifted level.
  void drift_weights(double t_inference);
  /// The digital output scales [out] (ones unless remapped).
  at::Tensor out_scales() const;
  /// The drift compensation's output factor (1 until drift_weights).
  double drift_alpha() const;
  /// The weights the next training forward pass reads: the modifier's noisy copy where there is
  /// one, else the weights.
  at::Tensor modified_weights() const;

  const RPUConfig& config() const { return config_; }
  int64_t out_size() const { return out_size_; }
  int64_t in_size() const { return in_size_; }
  /// The call number the next random draw will use.
  uint64_t next_call() const;
  /// Advances the tile's random streams as `passes` forward passes would (one call number each,
  /// none for a floating-point tile) without computing them: a caller that skips an evaluation
  /// leaves every draw after it as it would have been.
  void skip_forward_passes(int64_t passes);

  /// Views [out, in] of the device parameters (empty for a floating-point tile).
  at::Tensor w_min() const { return devices_.select(2, 0); }
  at::Tensor w_max() const { return devices_.select(2, 1); }
  at::Tensor dw_up() const { return devices_.select(2, 2); }
  at::Tensor dw_down() const { return devices_.select(2, 3); }
  /// LinearStep devices' slopes [out, in, 2] = (slope_up, slope_down); empty for other models.
  const at::Tensor& slopes() const { return slopes_; }

  at::Tensor weight;  ///< the parameter [out, in] (the kernels change it in place)

 private:
  // The buffers of the class comment (registered under these names without the underscore).
  at::Tensor devices_, diffusion_rate_, decay_scale_, reset_bias_;
  // Inference tiles only (empty tensors: none): out_scales [out]; alpha and baseline [1] of the
  // drift compensation; reference_weight and programmed_weight [out, in]; drift_nu [2, out, in]
  // (g+ devices, then g-); modified_weight [out, in], the modifier's copy.
  at::Tensor out_scales_, alpha_, baseline_, reference_weight_, programmed_weight_, drift_nu_,
      modified_weight_;
  at::Tensor slopes_;  ///< registered (and saved) for LinearStep tiles only; else empty
  at::Tensor rng_state_;
  /// The kernels' event counters: int64 [kCounters] on the weights' device (not saved).
  enum Counter {
    kForwardPasses,
    kBackwardPasses,
    kUpdateCounts,  ///< the update kernels' kUpdateCounters counters (energy/events.h)
    kCounters = kUpdateCounts + kUpdateCounters
  };
  mutable at::Tensor counters_;
  /// The counts the host makes itself: calls, samples, update samples (and a floating-point
  /// tile's passes).
  TileEvents host_events_;
  /// The counter k for the kernels: a pointer into counters_, on the weights' device.
  int64_t* counter(Counter k);

  friend void update_tiles(const std::vector<AnalogTile>& tiles, double lr);
  friend class PopulationTiles;      ///< the MVMs of many points' tiles at once
                                     ///< (tile/population_tiles.h)
  friend struct AnalogTileFunction;  ///< the autograd node: calls mvm() and record() itself

  /// One MVM through the kernels of the tile's device: W x, or W^T x when `transposed` (x float32
  /// with contiguous rows, on the tile's device), with that direction's IO spec and the next call
  /// number; its NaN/inf check is deferred to synchronize() with `defer_check`. A floating-point
  /// tile's product is exact. With mask_bound > 0 the result holds the gradient mask. The
  /// weights are mvm_weight(), or `*w` if given.
  MvmResult mvm(const at::Tensor& x, bool transposed, float mask_bound, bool defer_check,
                const at::Tensor* w = nullptr);
  /// The gradient-mask threshold of training forward passes: 0.999 forward.out_bound (0: none).
  float mask_bound() const;

  uint64_t key() const;
  uint64_t take_calls(uint64_t n);
  /// The one update path (update() is its one-tile case, update_tiles the others): each tile's
  /// job, then every job through its kernels' pulsed_update (the jobs of one device together),
  /// then the counters and checks.
  static void update_all(const std::vector<AnalogTileImpl*>& tiles, double lr);
  /// Takes the queued pairs and fills the job for the pulsed-update kernels; false where there is
  /// none (nothing queued, lr 0, or the exact float update, which it has done).
  bool begin_update(double lr, UpdateJob& job);
  bool is_floating_point() const { return config_.type() == TileType::kFloatingPoint; }
  /// The weights the forward and backward MVMs read (modified_weights() in training mode, or
  /// with modifier.enable_during_test).
  const at::Tensor& mvm_weight() const;
  /// Registers the inference buffers (reset()).
  void reset_inference_state();
  /// Output scales and alpha 1, no programming, no modifier copy (set_weights()).
  void forget_inference_state();
  /// The programming and the drift compensation dropped (the weights changed).
  void forget_programming();
  /// clip, remap and modifier (post_update_step of an inference tile).
  void inference_post_update_step();
  /// The drift compensation's readout: mean |y| over the one-hot inputs of every column (the
  /// noisy forward MVM of the weights), at least 1e-4.
  double drift_readout();
  /// Multiplies the tile's outputs by the output scales (and alpha in eval mode).
  at::Tensor scale_outputs(const at::Tensor& y) const;

  RPUConfig config_;
  kernels::IoSpec forward_spec_{}, backward_spec_{};  ///< config_'s forward and backward IO
  int64_t out_size_;
  int64_t in_size_;
  int64_t seed_;
  int64_t tile_id_;
  bool bias_column_;
  /// Runs a kernel's NaN/inf check now (after the deferred ones), or defers it to synchronize().
  void run_check(std::function<void()> check, bool defer);

  std::vector<at::Tensor> pending_x_, pending_d_;
  std::vector<std::function<void()>> deferred_checks_;
};

TORCH_MODULE(AnalogTile);

/// update(lr) of each tile, in order, with the same results; the pulsed updates of tiles on one
/// device go to their kernels together (on CUDA four launches for all of them, five if they mix
/// device models, instead of four each). AnalogSGD's step uses it. Errors as tile by tile: a
/// bad lr or an update rejected at once (the CPU's NaN/inf check) stops there: that tile's pairs
/// are dropped, the tiles not run yet keep theirs, the earlier tiles' updates run; then the
/// error is rethrown.
void update_tiles(const std::vector<AnalogTile>& tiles, double lr);

}  // namespace analog
