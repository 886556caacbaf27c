// libFuzzer target: results files (CSV and JSON lines); every row read must write a line that
// reads back to the same row.
#include <cmath>
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
    const auto keys = analog::sweep::SweepSpec::from_fingerprint(results.fingerprint).row_layout();
    for (const auto& row : results.rows) {
      // A row as written is the file's canonical form: it reads back to the same row, which
      // writes the same line again (a value read with more digits is written at 9).
      const std::string line = analog::sweep::format_row(row, results.format, keys);
      const auto back = analog::sweep::parse_row_line(line, results.format, keys);
      analog::fuzz::require(analog::sweep::format_row(back, results.format, keys) == line,
                            "a row read back from its own line writes another line");
      analog::fuzz::require(back.key() == row.key() && back.values == row.values &&
                                back.status == row.status &&
                                back.diverged_epoch == row.diverged_epoch,
                            "a row's text fields changed in its write/read round trip");
      for (const auto [a, b] : {std::pair{row.train_loss, back.train_loss},
                                {row.train_acc, back.train_acc},
                                {row.test_loss, back.test_loss},
                                {row.test_acc, back.test_acc},
                                {row.train_time_sec, back.train_time_sec}}) {
        analog::fuzz::require(
            (std::isnan(a) && std::isnan(b)) || a == b || std::fabs(a - b) <= 1e-8 * std::fabs(a),
            "a number moved by more than its 9 written digits");
      }
    }
  });
  return 0;
}
