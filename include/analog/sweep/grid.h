// Sweep grids: axes of config values by dotted name, expanded into hardware points.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "analog/config/rpu_config.h"

namespace analog::sweep {

/// The one axis that is not an RPU config field: which weight layers an analog run keeps
/// digital. Its values are layer sets joined by '+': `digital_layers=none,first,first+last,2`.
inline constexpr const char* kDigitalLayersAxis = "digital_layers";

/// One axis: a config field (or kDigitalLayersAxis) and the values it takes (text as written to
/// results).
struct GridAxis {
  std::string key;
  std::vector<std::string> values;
};

/// Parses `key=start:stop:step` (inclusive, no float drift: 0:1:0.2 gives 0, 0.2, ..., 1) or
/// `key=v1,v2,...`. Errors name the spec.
GridAxis parse_axis(const std::string& spec);

/// Parses the JSON text {"key": [values] or "start:stop:step", ...} (keys in text order); errors
/// begin with `what`.
std::vector<GridAxis> parse_grid_json(const std::string& text, const std::string& what);

/// Reads a grid file: parse_grid_json of its text.
std::vector<GridAxis> read_grid_file(const std::string& path);

/// The seed study's 144 points: forward.out_noise 0:1:0.2 x backward.out_noise 0:1:0.2 x
/// update.desired_bl 1,3,5,7.
std::vector<GridAxis> default_grid();

/// One point of the grid: its index (first axis outermost), values and full config.
struct GridPoint {
  int64_t index = 0;
  std::vector<std::string> values;
  RPUConfig config;
  std::vector<int64_t> digital_layers;  ///< the point's hybrid design (base_digital without axis)
};

/// The most points a grid may have. NB: every process of a sweep expands and validates all of
/// its points at start (about 30 us and 1 kB each: 30 s and 1 GB at this limit).
inline constexpr int64_t kMaxGridPoints = 1000000;

/// The number of points of the grid (the product of the axes' value counts); a key given twice
/// or more than kMaxGridPoints points is an error.
int64_t point_count(const std::vector<GridAxis>& axes);

/// Point `index` of the grid (first axis outermost), as expand_grid makes it; an index outside
/// the grid is an error.
GridPoint grid_point(const RPUConfig& base, const std::vector<GridAxis>& axes, int64_t index,
                     int64_t layer_count = 0, const std::vector<int64_t>& base_digital = {});

/// Every point of the grid over `base`; each config is validated (errors name the key and value).
/// A digital_layers axis is resolved for a network of `layer_count` weight layers (a layer it
/// lacks is an error); points of a grid without one keep `base_digital`.
std::vector<GridPoint> expand_grid(const RPUConfig& base, const std::vector<GridAxis>& axes,
                                   int64_t layer_count = 0,
                                   const std::vector<int64_t>& base_digital = {});

}  // namespace analog::sweep
