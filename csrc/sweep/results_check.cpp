// Rows of a results file checked against their sweep.
#include "analog/sweep/results_check.h"

#include <cmath>
#include <set>
#include <utility>

#include <c10/util/Exception.h>

#include "analog/error_message.h"

namespace analog::sweep {

RowChecker::RowChecker(SweepSpec spec)
    : spec_(std::move(spec)),
      points_(point_count(spec_.axes)),
      layer_count_(train::weight_layers(spec_.train)) {}

void RowChecker::check(const SweepRow& row) {
  const std::string run = "run " + row.key() + ": ";
  TORCH_CHECK(row.seed >= spec_.train.seed && row.seed - spec_.train.seed < spec_.repeats, run,
              "seed ", row.seed, " is not one of the sweep's (", spec_.train.seed, " to ",
              spec_.train.seed + spec_.repeats - 1, ")");
  if (row.kind == "digital") {
    TORCH_CHECK(spec_.include_digital, run, "the sweep has no digital runs");
    TORCH_CHECK(row.point == -1, run, "expected point -1 for a digital run, got ", row.point);
    for (const auto& v : row.values) {
      TORCH_CHECK(v.empty(), run, "expected no grid values for a digital run");
    }
    TORCH_CHECK(row.config.empty(), run, "expected no config for a digital run");
  } else {
    TORCH_CHECK(row.kind == "analog", run, "expected kind analog or digital");
    TORCH_CHECK(row.point >= 0 && row.point < points_, run, "expected a point 0 to ", points_ - 1,
                ", got ", row.point);
    auto it = points_met_.find(row.point);
    if (it == points_met_.end()) {
      GridPoint p =
          grid_point(spec_.base, spec_.axes, row.point, layer_count_, spec_.train.digital_layers);
      it = points_met_.emplace(row.point, PointText{std::move(p.values), p.config.to_json()}).first;
    }
    TORCH_CHECK(row.values == it->second.values, run, "its grid values are not point ", row.point,
                "'s");
    TORCH_CHECK(same_config(row.config, it->second.config), run, "its config is not point ",
                row.point, "'s");
  }
  const auto is_accuracy = [](double a) { return a >= 0 && a <= 1; };
  if (row.status == "ok") {
    TORCH_CHECK(row.diverged_epoch == 0, run, "status ok with a divergence epoch");
    TORCH_CHECK(std::isfinite(row.train_loss) && std::isfinite(row.test_loss), run,
                "status ok with a non-finite loss");
    TORCH_CHECK(is_accuracy(row.train_acc) && is_accuracy(row.test_acc), run,
                "status ok with an accuracy outside [0, 1]");
  } else {
    TORCH_CHECK(row.status == "diverged", run, "expected status ok or diverged");
    TORCH_CHECK(row.diverged_epoch >= 1 && row.diverged_epoch <= spec_.train.epochs, run,
                "expected a divergence epoch 1 to ", spec_.train.epochs, ", got ",
                row.diverged_epoch);
    for (const double a : {row.train_acc, row.test_acc}) {
      TORCH_CHECK(std::isnan(a) || is_accuracy(a), run, "an accuracy outside [0, 1]");
    }
  }
  TORCH_CHECK(std::isfinite(row.train_time_sec) && row.train_time_sec >= 0, run,
              "expected a wall time >= 0");
  // The accuracies after programming: measured for an analog run that trained, nan otherwise.
  const bool programmed = row.kind == "analog" && row.status == "ok";
  for (const double a : row.test_acc_at) {
    TORCH_CHECK(programmed ? is_accuracy(a) : std::isnan(a), run,
                programmed ? "an accuracy after programming outside [0, 1]"
                           : "expected nan after programming for a digital or diverged run");
  }
  for (const double v : row.energy.values()) {
    TORCH_CHECK(std::isnan(v) || (std::isfinite(v) && v >= 0), run,
                "expected an energy or latency >= 0 (or nan), got ", v);
  }
}

void check_rows(const ResultsData& data, const SweepSpec& spec, const std::string& path) {
  RowChecker checker(spec);
  std::set<std::string> seen;
  for (size_t k = 0; k < data.rows.size(); ++k) {
    const SweepRow& row = data.rows[k];
    const size_t line = data.first_row_line + k;
    try {
      checker.check(row);
    } catch (const std::exception& e) {
      TORCH_CHECK(false, path, ": line ", line, ": ", error_message(e),
                  " (edited or damaged: fix or remove the line)");
    }
    TORCH_CHECK(seen.insert(row.key()).second, path, ": line ", line, ": run ", row.key(),
                " is recorded twice (edited or damaged: remove one line)");
  }
}

}  // namespace analog::sweep
