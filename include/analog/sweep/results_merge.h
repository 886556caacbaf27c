// Merging the results files of a sweep's shards into one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "analog/sweep/results_format.h"

namespace analog::sweep {

/// Outcome of merging shards.
struct MergeReport {
  int64_t rows = 0;
  std::vector<std::string> missing;      ///< keys of runs in no input
  std::vector<std::string> duplicated;   ///< keys found more than once (kept once)
  std::vector<std::string> conflicting;  ///< keys found twice with different numbers
};

/// Merges results files of one sweep (equal fingerprints, else an error naming the file) into
/// `output` in run order, in the format of the first input, with the energy columns when any
/// input has them (nan for the rows of an input without).
MergeReport merge_results(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace analog::sweep
