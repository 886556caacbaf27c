// The runs the end-to-end benchmarks compare: digital SGD, analog training at the default
// sweep's seed point, a harsh point, and the seed point with soft-bounds and with linear-step
// devices.
#pragma once
#include <cstdio>
#include <exception>
#include <optional>
#include <vector>

#include <c10/util/Exception.h>

#include "analog/config/rpu_config.h"

namespace analog::bench {

struct Case {
  const char* name;  ///< for tables
  const char* key;   ///< for summary lines (scripts/gpu-check reads them): digital, analog, harsh,
                     ///< soft, linear
  std::optional<RPUConfig> rpu;  ///< none: digital SGD
};

inline std::vector<Case> e2e_cases() {
  RPUConfig seed_point;  // forward/backward out_noise 0.06, desired_bl 7
  seed_point.update().desired_bl(7);
  RPUConfig harsh;
  harsh.forward().out_noise(0.5);
  harsh.backward().out_noise(0.5);
  harsh.update().desired_bl(3);
  RPUConfig soft = seed_point;
  soft.device().model(DeviceModel::kSoftBounds);
  RPUConfig linear = seed_point;
  linear.device().model(DeviceModel::kLinearStep).gamma_up(0.3).gamma_down(0.3);
  return {{"digital", "digital", std::nullopt},
          {"analog (0.06, BL 7)", "analog", seed_point},
          {"analog harsh (0.5, BL 3)", "harsh", harsh},
          {"soft bounds (0.06, BL 7)", "soft", soft},
          {"linear step (g 0.3, BL 7)", "linear", linear}};
}

/// Runs a benchmark program's body: a missing data file or a bad argument ends it with its message
/// and exit code 2, not with an uncaught exception's backtrace.
template <class Body>
int guarded_main(const char* program, Body&& body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.msg().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s (usage: see benchmarks/README.md)\n", program, e.what());
  }
  return 2;
}

}  // namespace analog::bench
