// SVG pictures of a sweep: accuracy heatmaps, an accuracy-vs-first-axis line chart and, for
// sweeps evaluated after programming, accuracy vs time.
#pragma once
#include <string>

#include "analog/sweep/results_file.h"

namespace analog::sweep {

/// Writes one SVG: a heatmap of mean test accuracy (over repeats) per value of the third grid
/// axis (first axis down, second across; one panel with two axes), on a shared colour scale
/// with a legend, the value printed in each cell and diverged cells crossed out; then a line
/// chart of accuracy against the first axis, one line per value of the third (or second) axis,
/// mean over the other axes, with a +-1 std band over repeats when there are several.
/// Further axes are averaged over. A sweep with evaluation times gets a third chart: mean
/// test accuracy against the time after programming on a log axis, one line per point.
/// Returns the number of points drawn.
int64_t write_sweep_svg(const ResultsData& data, const std::string& path);

}  // namespace analog::sweep
