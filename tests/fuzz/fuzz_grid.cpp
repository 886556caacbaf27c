// libFuzzer target: grid files and --grid specs; small accepted grids are expanded too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "analog/sweep/grid.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // Text that opens with '{' is a grid file, any other one `--grid key=values` option.
  const bool as_file = size > 0 && data[0] == '{';
  analog::fuzz::expect_clean_error([&] {
    std::vector<analog::sweep::GridAxis> axes;
    if (as_file) {
      axes = analog::sweep::parse_grid_json(text, "fuzz grid");
    } else {
      axes.push_back(analog::sweep::parse_axis(text));
    }
    size_t points = 1;
    for (const auto& axis : axes) {
      analog::fuzz::require(!axis.values.empty(), "an axis without values was accepted");
      points *= axis.values.size();
      if (points > 64) return;  // expansion cost grows with the count; its limit is unit-tested
    }
    const auto expanded = analog::sweep::expand_grid(analog::RPUConfig(), axes, 3);
    analog::fuzz::require(expanded.size() == points, "expanded point count differs");
  });
  return 0;
}
