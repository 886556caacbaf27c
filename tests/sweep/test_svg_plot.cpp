// The sweep's pictures: the Pareto front of the accuracy-vs-energy chart.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "analog/sweep/svg_plot.h"

namespace analog::sweep {
namespace {

TEST(SvgPlot, ParetoFrontKeepsThePointsNoOtherBeats) {
  // cost, value: 0 (1, 0.5) front; 1 (2, 0.4) beaten by 0; 2 (3, 0.9) front; 3 (2, 0.7) front;
  // 4 (3, 0.9) a tie with 2 (neither beats the other: the first kept); 5 (0.5, nan) left out;
  // 6 (4, 0.9) beaten by 2.
  const std::vector<double> cost = {1, 2, 3, 2, 3, 0.5, 4};
  const std::vector<double> value = {0.5, 0.4, 0.9, 0.7, 0.9, NAN, 0.9};
  const std::vector<size_t> front = pareto_front(cost, value);
  EXPECT_EQ(front, (std::vector<size_t>{0, 3, 2}));
  EXPECT_TRUE(pareto_front({}, {}).empty());
  EXPECT_EQ(pareto_front({5}, {0.1}), (std::vector<size_t>{0}));
}

}  // namespace
}  // namespace analog::sweep
