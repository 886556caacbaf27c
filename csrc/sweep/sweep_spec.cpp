// SweepSpec fingerprint and run list.
#include "analog/sweep/sweep_spec.h"

#include <cmath>
#include <cstdio>
#include <set>

#include <c10/util/Exception.h>

#include <nlohmann/json.hpp>

#include "config/json_guard.h"

namespace analog::sweep {

std::string SweepJob::key() const {
  return (digital ? std::string("digital/")
                  : std::string("analog/") + std::to_string(point) + "/") +
         std::to_string(seed);
}

std::string SweepSpec::fingerprint() const {
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["base"] = nlohmann::ordered_json::parse(base.to_json());
  j["grid"] = nlohmann::ordered_json::array();
  for (const auto& axis : axes) j["grid"].push_back({{"key", axis.key}, {"values", axis.values}});
  // One hidden layer is written as a number, as in files from before deeper MLPs.
  const nlohmann::ordered_json hidden = train.hidden.size() == 1
                                            ? nlohmann::ordered_json(train.hidden.front())
                                            : nlohmann::ordered_json(train.hidden);
  j["train"] = {{"hidden", hidden},
                {"epochs", train.epochs},
                {"batch", train.batch},
                {"lr", train.lr},
                {"seed", train.seed},
                {"train_samples", train_samples},
                {"test_samples", test_samples}};
  // (mnist, the data set of files from before the key, is left out: their headers stay the same)
  if (dataset != "mnist") j["train"]["dataset"] = dataset;
  if (train.model != "mlp") j["train"]["model"] = train.model;  // (as the data set: mlp left out)
  if (!train.digital_layers.empty()) j["train"]["digital_layers"] = train.digital_layers;
  if (!data.empty()) j["train"]["data"] = data;
  j["repeats"] = repeats;
  j["include_digital"] = include_digital;
  // (left out without times: the headers of sweeps that evaluate nothing stay the same)
  if (!eval_times.empty()) j["eval"] = {{"times", eval_times}, {"repeats", eval_repeats}};
  if (energy_columns) j["energy"] = true;
  return j.dump();
}

SweepSpec SweepSpec::from_fingerprint(const std::string& text) {
  SweepSpec s;
  try {
    check_json_text(text, "results header");
    const auto j = nlohmann::json::parse(text);
    TORCH_CHECK(j.at("version").get<int>() == 1, "unsupported results version ", j.at("version"));
    s.base = RPUConfig::from_json(j.at("base").dump());
    for (const auto& axis : j.at("grid")) {
      s.axes.push_back(
          {axis.at("key").get<std::string>(), axis.at("values").get<std::vector<std::string>>()});
    }
    const auto& t = j.at("train");
    const auto& hidden = t.at("hidden");
    s.train.hidden = hidden.is_array() ? hidden.get<std::vector<int64_t>>()
                                       : std::vector<int64_t>{hidden.get<int64_t>()};
    s.train.epochs = t.at("epochs");
    s.train.batch = t.at("batch");
    s.train.lr = t.at("lr");
    s.train.seed = t.at("seed");
    s.train_samples = t.at("train_samples");
    s.test_samples = t.at("test_samples");
    s.dataset = t.value("dataset", "mnist");
    s.train.model = t.value("model", "mlp");
    s.train.digital_layers = t.value("digital_layers", std::vector<int64_t>{});
    s.data = t.value("data", "");
    s.repeats = j.at("repeats");
    s.include_digital = j.at("include_digital");
    if (j.contains("eval")) {
      s.eval_times = j["eval"].at("times").get<std::vector<double>>();
      s.eval_repeats = j["eval"].at("repeats");
    }
    s.energy_columns = j.value("energy", false);
  } catch (const nlohmann::json::exception& e) {
    TORCH_CHECK(false, "results header: invalid sweep description: ", e.what());
  }
  return s;
}

std::string eval_column(double t_seconds) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "test_acc_t%.10g", t_seconds);
  return buf;
}

RowLayout SweepSpec::row_layout() const {
  RowLayout layout{grid_keys(), {}, energy_columns};
  for (const double t : eval_times) layout.eval_columns.push_back(eval_column(t));
  return layout;
}

std::vector<std::string> SweepSpec::grid_keys() const {
  std::vector<std::string> keys;
  for (const auto& axis : axes) keys.push_back(axis.key);
  return keys;
}

std::vector<SweepJob> SweepSpec::jobs() const {
  int64_t points = 1;
  for (const auto& axis : axes) points *= static_cast<int64_t>(axis.values.size());
  std::vector<SweepJob> out;
  int64_t index = 0;
  if (include_digital) {
    for (int64_t r = 0; r < repeats; ++r) out.push_back({index++, true, -1, r, train.seed + r});
  }
  for (int64_t r = 0; r < repeats; ++r) {
    for (int64_t p = 0; p < points; ++p) out.push_back({index++, false, p, r, train.seed + r});
  }
  return out;
}

namespace {

void check_one_layer_choice(const SweepSpec& spec) {
  for (const auto& axis : spec.axes) {
    TORCH_CHECK(axis.key != kDigitalLayersAxis || spec.train.digital_layers.empty(),
                "grid: a digital_layers axis and --digital-layers both choose the digital layers; "
                "give one");
  }
}

void check_eval(const SweepSpec& spec, const std::vector<GridPoint>& points) {
  if (spec.eval_times.empty()) return;
  TORCH_CHECK(spec.eval_repeats >= 1, "--eval-repeats: expected at least 1, got ",
              spec.eval_repeats);
  std::set<std::string> columns;
  for (const double t : spec.eval_times) {
    TORCH_CHECK(std::isfinite(t) && t >= 0, "--eval-times: expected seconds >= 0, got ", t);
    TORCH_CHECK(columns.insert(eval_column(t)).second, "--eval-times: ", t,
                " is given twice (column ", eval_column(t), ")");
  }
  for (size_t p = 0; p < points.size(); ++p) {
    TORCH_CHECK(points[p].config.type() == TileType::kInference,
                "--eval-times: expected every point of type inference, point ", p, " is of type ",
                points[p].config.get("type"));
  }
}

}  // namespace

std::vector<GridPoint> SweepSpec::points() const {
  check_one_layer_choice(*this);
  auto out = expand_grid(base, axes, train::weight_layers(train), train.digital_layers);
  check_eval(*this, out);
  return out;
}

GridPoint SweepSpec::point(int64_t index) const {
  check_one_layer_choice(*this);
  return grid_point(base, axes, index, train::weight_layers(train), train.digital_layers);
}

}  // namespace analog::sweep
