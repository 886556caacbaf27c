// The runs the end-to-end benchmarks compare: digital SGD, analog training at the default
// sweep's seed point, and a harsh point.
#pragma once
#include <optional>
#include <vector>

#include "analog/config/rpu_config.h"

namespace analog::bench {

struct Case {
  const char* name;  ///< for tables
  const char* key;   ///< for summary lines (scripts/gpu-check reads them): digital, analog, harsh
  std::optional<RPUConfig> rpu;  ///< none: digital SGD
};

inline std::vector<Case> e2e_cases() {
  RPUConfig seed_point;  // forward/backward out_noise 0.06, desired_bl 7
  seed_point.update().desired_bl(7);
  RPUConfig harsh;
  harsh.forward().out_noise(0.5);
  harsh.backward().out_noise(0.5);
  harsh.update().desired_bl(3);
  return {{"digital", "digital", std::nullopt},
          {"analog (0.06, BL 7)", "analog", seed_point},
          {"analog harsh (0.5, BL 3)", "harsh", harsh}};
}

}  // namespace analog::bench
