// Grid parsing and expansion.
#include "analog/sweep/grid.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include "analog/train/layer_set.h"
#include "config/json_guard.h"
#include "io/input_file.h"

namespace analog::sweep {
namespace {

double parse_double(const std::string& spec, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  TORCH_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(v), "grid '",
              spec, "': '", text, "' is not a number");
  return v;
}

/// Shortest decimal text that reads back as v rounded to 12 significant digits (0.6, not
/// 0.6000000000000001).
std::string format_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  const double rounded = std::strtod(buf, nullptr);
  for (int precision = 1; precision <= 12; ++precision) {
    char shorter[64];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, rounded);
    if (std::strtod(shorter, nullptr) == rounded) return shorter;
  }
  return buf;
}

std::vector<std::string> range_values(const std::string& spec, const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ':')) parts.push_back(part);
  TORCH_CHECK(parts.size() == 3, "grid '", spec, "': expected start:stop:step");
  const double start = parse_double(spec, parts[0]);
  const double stop = parse_double(spec, parts[1]);
  const double step = parse_double(spec, parts[2]);
  TORCH_CHECK(step > 0, "grid '", spec, "': expected a step > 0, got ", step);
  TORCH_CHECK(stop >= start, "grid '", spec, "': expected stop >= start");
  const double span = (stop - start) / step;
  TORCH_CHECK(span < 100000, "grid '", spec, "': ", span + 1,
              " values is too many (at most 100000)");
  const auto count = static_cast<int64_t>(std::floor(span + 1e-9)) + 1;
  std::vector<std::string> values;
  for (int64_t i = 0; i < count; ++i)
    values.push_back(format_value(start + static_cast<double>(i) * step));
  return values;
}

std::vector<std::string> list_values(const std::string& spec, const std::string& text) {
  std::vector<std::string> values;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    TORCH_CHECK(!part.empty(), "grid '", spec, "': empty value in the list");
    values.push_back(part);
  }
  TORCH_CHECK(!values.empty(), "grid '", spec, "': no values");
  return values;
}

}  // namespace

GridAxis parse_axis(const std::string& spec) {
  const auto eq = spec.find('=');
  TORCH_CHECK(eq != std::string::npos && eq > 0, "grid '", spec,
              "': expected key=start:stop:step or key=v1,v2,...");
  GridAxis axis;
  axis.key = spec.substr(0, eq);
  const std::string text = spec.substr(eq + 1);
  axis.values =
      text.find(':') != std::string::npos ? range_values(spec, text) : list_values(spec, text);
  // What each value sets, to find two that name the same point ("1" and "01", "first+last" and
  // "last+first"): the grid would train it twice.
  std::vector<std::string> meanings;
  if (axis.key == kDigitalLayersAxis) {
    // NB: the layer count is the model's, known only at expansion; a huge count checks the words.
    for (const auto& v : axis.values) {
      const auto layers = train::parse_layer_set(v, 999, '+', "grid '" + spec + "'");
      std::string meaning;
      for (const int64_t k : layers) meaning += std::to_string(k) + " ";
      meanings.push_back(meaning);
    }
  } else {
    for (const auto& v : axis.values) {
      RPUConfig probe;
      probe.set(axis.key, v);  // unknown key or bad value: error
      meanings.push_back(probe.get(axis.key));
    }
  }
  for (size_t a = 0; a < meanings.size(); ++a) {
    for (size_t b = a + 1; b < meanings.size(); ++b) {
      TORCH_CHECK(meanings[a] != meanings[b], "grid '", spec, "': values '", axis.values[a],
                  "' and '", axis.values[b], "' are the same ", axis.key,
                  "; expected each value once");
    }
  }
  return axis;
}

std::vector<GridAxis> parse_grid_json(const std::string& text, const std::string& what) {
  check_json_text(text, what);
  nlohmann::ordered_json root;
  try {
    root = nlohmann::ordered_json::parse(text);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, what, ": invalid JSON: ", e.what());
  }
  TORCH_CHECK(root.is_object(), what, ": expected an object of key: values");
  std::vector<GridAxis> axes;
  for (auto it = root.begin(); it != root.end(); ++it) {
    std::string values;
    if (it.value().is_string()) {
      values = it.value().get<std::string>();
    } else {
      TORCH_CHECK(it.value().is_array() && !it.value().empty(), what, ": key '", it.key(),
                  "' needs a non-empty list or a \"start:stop:step\" string");
      for (const auto& v : it.value()) {
        values += (values.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    axes.push_back(parse_axis(it.key() + "=" + values));
  }
  return axes;
}

std::vector<GridAxis> read_grid_file(const std::string& path) {
  return parse_grid_json(read_input_file(path, "grid file", kMaxJsonFileBytes),
                         "grid file '" + path + "'");
}

std::vector<GridAxis> default_grid() {
  return {parse_axis("forward.out_noise=0:1:0.2"), parse_axis("backward.out_noise=0:1:0.2"),
          parse_axis("update.desired_bl=1,3,5,7")};
}

int64_t point_count(const std::vector<GridAxis>& axes) {
  for (size_t a = 0; a < axes.size(); ++a) {
    for (size_t b = a + 1; b < axes.size(); ++b) {
      TORCH_CHECK(axes[a].key != axes[b].key, "grid: key '", axes[a].key, "' appears twice");
    }
  }
  int64_t total = 1;
  for (const auto& axis : axes) {
    const auto n = static_cast<int64_t>(axis.values.size());
    TORCH_CHECK(n >= 1 && total <= kMaxGridPoints / n, "grid: more than ", kMaxGridPoints,
                " points (the axes' value counts multiply)");
    total *= n;
  }
  return total;
}

namespace {

/// Point `index` of a grid already checked by point_count (0 <= index < its count).
GridPoint make_point(const RPUConfig& base, const std::vector<GridAxis>& axes, int64_t index,
                     int64_t layer_count, const std::vector<int64_t>& base_digital) {
  GridPoint p;
  p.index = index;
  p.config = base;
  int64_t rest = index;
  p.values.resize(axes.size());
  for (size_t a = axes.size(); a-- > 0;) {
    const auto n = static_cast<int64_t>(axes[a].values.size());
    p.values[a] = axes[a].values[static_cast<size_t>(rest % n)];
    rest /= n;
  }
  p.digital_layers = base_digital;
  for (size_t a = 0; a < axes.size(); ++a) {
    if (axes[a].key == kDigitalLayersAxis) {
      p.digital_layers = train::parse_layer_set(p.values[a], layer_count, '+',
                                                "grid '" + axes[a].key + "=" + p.values[a] + "'");
    } else {
      p.config.set(axes[a].key, p.values[a]);
    }
  }
  p.config.validate();
  return p;
}

}  // namespace

GridPoint grid_point(const RPUConfig& base, const std::vector<GridAxis>& axes, int64_t index,
                     int64_t layer_count, const std::vector<int64_t>& base_digital) {
  const int64_t total = point_count(axes);
  TORCH_CHECK(index >= 0 && index < total, "grid: no point ", index, " in a grid of ", total,
              " points");
  return make_point(base, axes, index, layer_count, base_digital);
}

std::vector<GridPoint> expand_grid(const RPUConfig& base, const std::vector<GridAxis>& axes,
                                   int64_t layer_count, const std::vector<int64_t>& base_digital) {
  const int64_t total = point_count(axes);
  std::vector<GridPoint> points;
  points.reserve(static_cast<size_t>(total));
  for (int64_t index = 0; index < total; ++index) {
    points.push_back(make_point(base, axes, index, layer_count, base_digital));
  }
  return points;
}

}  // namespace analog::sweep
