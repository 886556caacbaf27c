// Event counts: what a tile's hardware did, counted exactly where the simulation does it.
#pragma once
#include <cstdint>
#include <vector>

namespace analog {

/// The counters the pulsed-update kernels add to: an array of kUpdateCounters int64 in memory of
/// the kernels' device, in this order (TileEvents::update_slots, pulses, devices_touched,
/// bl_wanted). NB: kBlWantedCounted holds a maximum, not a sum.
enum UpdateCounter : int {
  kSlotsCounted = 0,
  kPulsesCounted = 1,
  kTouchedCounted = 2,
  kBlWantedCounted = 3,
  kUpdateCounters = 4
};

/// TileEvents::bl_wanted where update.desired_bl itself set a train's length.
constexpr int64_t kBlUnbounded = INT64_MAX;

/// The MVMs of one direction of a tile.
struct MvmEvents {
  int64_t calls = 0;    ///< MVM calls (batches)
  int64_t samples = 0;  ///< input vectors presented
  /// (vector, pass) pairs through the converters: one per vector, plus one per bound-management
  /// re-run; a vector that takes the zero short-cut (all inputs 0 under noise management) is
  /// skipped by the hardware and counts 0. Every pass converts all `rows` inputs (DAC), reads all
  /// rows x cols cells and converts all `cols` outputs (ADC) of the tile's direction.
  int64_t passes = 0;

  MvmEvents& operator+=(const MvmEvents& o) {
    calls += o.calls;
    samples += o.samples;
    passes += o.passes;
    return *this;
  }
};

/// Everything one tile has done since it was made or since its reset_events().
///
/// Sizes: the tile has `rows` = in_size physical inputs (an analog bias column included) and
/// `cols` = out_size outputs. The forward pass drives the rows and reads the columns' ADCs, the
/// backward pass the reverse. Derived counts (energy/energy_model.h): DAC conversions = passes x
/// inputs of the direction, ADC conversions = passes x outputs, cells read = passes x rows x cols.
struct TileEvents {
  int64_t rows = 0, cols = 0;
  MvmEvents forward, backward;
  int64_t update_calls = 0;    ///< updates (optimizer steps) that had pairs to apply
  int64_t update_samples = 0;  ///< (x, d) pairs the update took
  /// Pulse slots the update planned (the sum over its samples of the train length BL): the
  /// update's time steps, in each of which every row and column may fire once.
  int64_t update_slots = 0;
  /// Pulses the devices received: in each slot one per (row, column) crossing where both trains
  /// fire (stochastic pulses), or the coincidence count applied (deterministic pulse types).
  /// The exact float update (pulse type none, floating-point tiles) fires none.
  int64_t pulses = 0;
  /// Devices that received at least one pulse in an update, summed over the updates.
  int64_t devices_touched = 0;
  /// The longest pulse train that BL management asked for in one sample, before the clip to
  /// update.desired_bl (ceil(k), k = lr max|x| um_grad_scale max|d| / dw_min), over the updates
  /// (a maximum): the updates, and with them the training, would have been the same for every
  /// desired_bl at least this. kBlUnbounded once an update without BL management planned
  /// pulses; 0 where no update planned any (also for exact float updates).
  int64_t bl_wanted = 0;

  /// Adds the counts of `o` (bl_wanted: the larger) and takes its sizes (for a sum over tiles of
  /// different sizes, set rows and cols afterwards).
  TileEvents& operator+=(const TileEvents& o) {
    rows = o.rows;
    cols = o.cols;
    forward += o.forward;
    backward += o.backward;
    update_calls += o.update_calls;
    update_samples += o.update_samples;
    update_slots += o.update_slots;
    pulses += o.pulses;
    devices_touched += o.devices_touched;
    bl_wanted = bl_wanted > o.bl_wanted ? bl_wanted : o.bl_wanted;
    return *this;
  }
};

/// How much data a run pushed through its network: what prices the layers that have no tiles to
/// count their events (the digital layers of a hybrid network).
struct DataCounts {
  int64_t train_steps = 0;            ///< optimizer steps taken
  int64_t train_samples = 0;          ///< the samples of those steps
  int64_t test_batches = 0;           ///< batches of the last evaluation of the test set
  int64_t test_samples = 0;           ///< its samples
  std::vector<int64_t> sample_shape;  ///< one input sample's shape, e.g. {784}
};

}  // namespace analog
