// SweepSpec: what a sweep computes (base config, grid, training options, repeats), its
// fingerprint, and the list of runs it consists of.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/sweep/grid.h"
#include "analog/train/trainer.h"

namespace analog::sweep {

/// One training run of a sweep: a grid point (or the digital baseline) with one seed.
struct SweepJob {
  int64_t index = 0;     ///< position in the sweep's run order (sharding uses index mod N)
  bool digital = false;  ///< the digital reference run of this repeat
  int64_t point = -1;    ///< grid point index (-1 for digital)
  int64_t repeat = 0;
  int64_t seed = 0;  ///< train.seed + repeat: all points of a repeat share data order and init
  /// Identity of the run in a results file.
  std::string key() const;
};

/// The columns of a results row that vary with the sweep: one per grid axis, then one per
/// evaluation time after programming.
struct RowLayout {
  std::vector<std::string> grid_keys;
  std::vector<std::string> eval_columns;  ///< eval_column(t) for each of SweepSpec::eval_times
  bool energy = false;                    ///< the energy columns (SweepRow::energy)
};

/// The results column of the test accuracy `t_seconds` after programming: "test_acc_t3600".
std::string eval_column(double t_seconds);

/// Everything that determines a sweep's numbers. Two results files can be resumed or merged
/// together only when their fingerprints are equal.
struct SweepSpec {
  RPUConfig base;
  std::vector<GridAxis> axes;
  train::TrainOptions train;
  int64_t train_samples = 0;      ///< 0: all
  int64_t test_samples = 0;       ///< 0: all
  std::string dataset = "mnist";  ///< mnist | fashion-mnist (the fingerprint names it unless mnist)
  /// The data files' identity (data::mnist_identity: names, sizes, hashes), set by the runners
  /// from the files they load; "" leaves it out of the fingerprint.
  std::string data;
  int64_t repeats = 1;
  bool include_digital = false;
  /// Seconds after programming at which each analog run's inference tiles are evaluated (empty:
  /// none; every point must then be of type inference). Each time is one results column: the
  /// mean test accuracy over `eval_repeats` programmings.
  std::vector<double> eval_times;
  int64_t eval_repeats = 10;
  /// Rows carry the energy columns. A header without "energy" describes a file without them,
  /// which keeps that layout when resumed (the column set does not change a sweep's numbers:
  /// same_sweep ignores it; a merge has them when any input has).
  bool energy_columns = true;

  /// Compact JSON of every field above (the fingerprint).
  std::string fingerprint() const;
  static SweepSpec from_fingerprint(const std::string& json);
  /// Digital runs first (one per repeat), then repeat by repeat, point by point.
  std::vector<SweepJob> jobs() const;
  /// The grid's points; a digital_layers axis together with train.digital_layers is an error, and
  /// so are evaluation times with a point not of type inference.
  std::vector<GridPoint> points() const;
  /// Grid point `index` alone (as points() makes it; an index outside the grid is an error).
  GridPoint point(int64_t index) const;
  std::vector<std::string> grid_keys() const;
  RowLayout row_layout() const;
};

}  // namespace analog::sweep
