// libFuzzer target: results files (CSV and JSON lines); every row read must write back to a row
// that reads the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "analog/sweep/results_format.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  analog::fuzz::expect_clean_error([&] {
    size_t consumed = 0;
    const auto results = analog::sweep::parse_results(text, "fuzz.csv", consumed);
    analog::fuzz::require(consumed <= text.size(), "consumed past the end");
    const auto keys = analog::sweep::SweepSpec::from_fingerprint(results.fingerprint).grid_keys();
    for (const auto& row : results.rows) {
      const std::string line = analog::sweep::format_row(row, results.format, keys);
      const auto back = analog::sweep::parse_row_line(line, results.format, keys);
      analog::fuzz::require(back.key() == row.key() && back.same_result(row) &&
                                back.status == row.status && back.config == row.config,
                            "a row changed in its write/read round trip");
    }
  });
  return 0;
}
