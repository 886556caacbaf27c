// Checks that the rows of a results file are runs of its sweep, as the sweep writes them: what
// resume and merge trust before they skip or keep a run.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analog/sweep/grid.h"
#include "analog/sweep/results_format.h"
#include "analog/sweep/sweep_spec.h"

namespace analog::sweep {

/// Checks rows against one sweep. A row passes when it is a run of the sweep as the sweep
/// writes it:
/// - kind analog with a point of the grid, that point's grid values and config; or kind digital
///   (only with include_digital) with point -1, empty values and no config;
/// - a seed of one of the sweep's repeats (train.seed ... train.seed + repeats - 1);
/// - status ok with diverged_epoch 0, finite losses, accuracies in [0, 1]; or status diverged
///   with diverged_epoch in 1..epochs and accuracies in [0, 1] or NaN (no finished epoch);
/// - a finite, non-negative wall time.
class RowChecker {
 public:
  explicit RowChecker(SweepSpec spec);
  /// Throws c10::Error naming the run and what is wrong with it.
  void check(const SweepRow& row);

 private:
  SweepSpec spec_;
  int64_t points_ = 0;
  int64_t layer_count_ = 0;
  struct PointText {
    std::vector<std::string> values;
    std::string config;  ///< compact JSON
  };
  std::map<int64_t, PointText> points_met_;  ///< the points of rows checked so far
};

/// Checks every row of `data` (a file read from `path`) against `spec`, and that no run appears
/// twice. Errors name the file and the line: "<path>: line N: run analog/3/0: ...".
void check_rows(const ResultsData& data, const SweepSpec& spec, const std::string& path);

}  // namespace analog::sweep
