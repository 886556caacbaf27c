// Sweep grids: axes of config values by dotted name, expanded into hardware points.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "analog/config/rpu_config.h"

namespace analog::sweep {

/// One axis: a config field and the values it takes (text as written to results).
struct GridAxis {
  std::string key;
  std::vector<std::string> values;
};

/// Parses `key=start:stop:step` (inclusive, no float drift: 0:1:0.2 gives 0, 0.2, ..., 1) or
/// `key=v1,v2,...`. Errors name the spec.
GridAxis parse_axis(const std::string& spec);

/// Reads {"key": [values] or "start:stop:step", ...} (keys in file order).
std::vector<GridAxis> read_grid_file(const std::string& path);

/// The seed study's 144 points: forward.out_noise 0:1:0.2 x backward.out_noise 0:1:0.2 x
/// update.desired_bl 1,3,5,7.
std::vector<GridAxis> default_grid();

/// One point of the grid: its index (first axis outermost), values and full config.
struct GridPoint {
  int64_t index = 0;
  std::vector<std::string> values;
  RPUConfig config;
};

/// Every point of the grid over `base`; each config is validated (errors name the key and value).
std::vector<GridPoint> expand_grid(const RPUConfig& base, const std::vector<GridAxis>& axes);

}  // namespace analog::sweep
