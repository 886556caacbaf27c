// The tiles at one place of P networks of one architecture (a population's points), run as one.
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "analog/tile/analog_tile.h"
#include "tile/io_pipeline.h"

namespace analog {

/// P tiles of one shape and device, one per point of a population (pulsed training tiles: the
/// single-device type), whose MVMs run as one batched MVM per direction
/// (TileKernels::io_mvm_points). Their weights become views of one [P, out, in] tensor; each tile
/// keeps its own devices, random streams, counters and queued update pairs, so that the tile
/// itself updates, reports its events and is saved as any other.
class PopulationTiles {
 public:
  /// Throws, naming the point, for a tile of another type, shape or device, or whose IO differs
  /// from the first's in what one batched MVM must share (TileKernels::io_mvm_points).
  explicit PopulationTiles(std::vector<AnalogTile> tiles);

  /// y [P, B, out] from x [P, B, in] (each point's rows contiguous). With grad mode on, as
  /// AnalogTile::forward point by point: the backward pass runs the backward MVMs and queues
  /// each active point's (x, d) in its tile for the next update. A point whose input holds a
  /// NaN or inf gets NaN outputs.
  at::Tensor forward(const at::Tensor& x);

  /// Whether point p's tile takes part (true at first). A diverged point is set inactive: it
  /// still runs (its outputs are to be dropped), but its tile takes no random-stream call,
  /// counts no event and queues no update pair: it stays as it was when it stopped.
  void set_active(size_t p, bool active) { active_[p] = active; }

  const std::vector<AnalogTile>& tiles() const { return tiles_; }
  /// The stacked weights [P, out, in] that the tiles' weights are views of.
  const at::Tensor& weights() const { return weights_; }
  int64_t size() const { return static_cast<int64_t>(tiles_.size()); }

 private:
  friend struct PopulationFunction;
  /// Each point's MVM (forward or transposed), one call number of each tile's stream; counted
  /// in each tile's events as its own MVM would be. `mask`: the forward gradient mask.
  MvmResult mvm(const at::Tensor& x, bool transposed, bool mask);

  std::vector<AnalogTile> tiles_;
  std::vector<bool> active_;
  at::Tensor weights_;
  /// A leaf that requires grad, an input of the autograd node so that its output is connected to
  /// the graph (the weights are the kernels', not autograd's).
  at::Tensor anchor_;
};

}  // namespace analog
