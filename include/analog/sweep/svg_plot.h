// SVG pictures of a sweep: accuracy heatmaps, an accuracy-vs-first-axis line chart and, for
// sweeps evaluated after programming, accuracy vs time; accuracy vs energy with its Pareto front.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "analog/sweep/results_file.h"

namespace analog::sweep {

/// Writes one SVG: a heatmap of mean test accuracy (over repeats) per value of the third grid
/// axis (first axis down, second across; one panel with two axes), on a shared colour scale
/// with a legend, the value printed in each cell and diverged cells crossed out; then a line
/// chart of accuracy against the first axis, one line per value of the third (or second) axis,
/// mean over the other axes, with a +-1 std band over repeats when there are several.
/// Further axes are averaged over. A sweep with evaluation times gets a third chart: mean
/// test accuracy against the time after programming on a log axis, one line per point. A sweep
/// with energy columns gets a chart of mean test accuracy against mean training energy (log
/// axis), one dot per point, the Pareto front (pareto_front of energy and accuracy) marked and
/// joined, and the digital reference's training energy as a dashed line.
/// Returns the number of points drawn.
int64_t write_sweep_svg(const ResultsData& data, const std::string& path);

/// The Pareto front of points (cost[i], value[i]), by rising cost: each point whose value is
/// higher than that of every point of lower cost, and of every point of equal cost and lower
/// index. Points with a non-finite coordinate are left out.
std::vector<size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& value);

}  // namespace analog::sweep
