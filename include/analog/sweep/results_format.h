// The results file's format: one row per finished run, CSV (with a `# analog-sweep {...}`
// header line) or JSON lines; its codec, and the comparisons that resume and merge rely on.
#pragma once
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "analog/sweep/sweep_spec.h"

namespace analog::sweep {

/// What an analog run would cost on hardware (energy/energy_report.h totals): joules of its
/// training and of one inference pass per test sample, that pass's latency, and the digital
/// reference of both. NaN where there is none (a digital run, a file without these columns).
struct RowEnergy {
  double train_j = NAN, sample_j = NAN, sample_s = NAN, digital_train_j = NAN,
         digital_sample_j = NAN;
  /// The fields in the order of the results columns.
  std::array<double*, 5> fields() {
    return {&train_j, &sample_j, &sample_s, &digital_train_j, &digital_sample_j};
  }
  std::array<double, 5> values() const {
    RowEnergy copy = *this;
    std::array<double, 5> out{};
    for (size_t k = 0; k < out.size(); ++k) out[k] = *copy.fields()[k];
    return out;
  }
};

/// One finished run.
struct SweepRow {
  std::string kind = "analog";      ///< analog | digital
  int64_t point = -1;               ///< grid point index (-1: digital)
  std::vector<std::string> values;  ///< grid values, one per axis (empty strings: digital)
  int64_t seed = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, train_time_sec = 0;
  std::string status = "ok";   ///< ok | diverged
  int64_t diverged_epoch = 0;  ///< 1-based epoch of divergence (0: none)
  /// Mean test accuracy at each of the sweep's eval_times after programming (NaN for a digital
  /// or diverged run).
  std::vector<double> test_acc_at;
  RowEnergy energy;
  std::string config;  ///< the run's full RPU config, compact JSON ("" for digital)

  std::string key() const;
  /// Same numbers (everything but the wall time and the energy, which follows from the run).
  bool same_result(const SweepRow& other) const;
};

enum class ResultsFormat { kCsv, kJsonl };

/// Contents of a results file.
struct ResultsData {
  ResultsFormat format = ResultsFormat::kCsv;
  std::string fingerprint;
  RowLayout layout;  ///< the file's columns, as its header describes them
  std::vector<SweepRow> rows;
  size_t first_row_line = 0;          ///< the 1-based line of rows[0] (2 for JSON lines, 3 for CSV)
  bool dropped_partial_line = false;  ///< the last line was cut (killed mid-write) and ignored
};

/// Reads a results file (CSV with a `# analog-sweep {...}` header line, or JSON lines with an
/// {"analog_sweep": {...}} first line). A last line without newline is ignored (reported in
/// dropped_partial_line); any other malformed line is an error naming the line.
ResultsData read_results(const std::string& path);

/// The text of one row (CSV line or JSON line) without the newline.
std::string format_row(const SweepRow& row, ResultsFormat format, const RowLayout& layout);
/// The header lines of a new file.
std::string format_header(const SweepSpec& spec, ResultsFormat format);

/// Parses one row line of a file in `format`; throws on a malformed line.
SweepRow parse_row_line(const std::string& line, ResultsFormat format, const RowLayout& layout);

/// The complete lines of `text` (a last line without newline is not one); `end` becomes the
/// offset just past the last newline.
std::vector<std::string> complete_lines(const std::string& text, size_t& end);

/// A results file's text: header, then rows. `consumed` is the offset past the last whole line;
/// errors name `path`.
ResultsData parse_results(const std::string& text, const std::string& path, size_t& consumed);

/// Two fingerprints describe the same sweep: the same options once read back, whatever the key
/// order, and with a field that a file from an earlier version lacks at its default (the config
/// keys added since, such as device.model, keep their old behaviour at their defaults). The data
/// files' identity is compared when both name one.
bool same_sweep(const std::string& a, const std::string& b);

/// Two rows' configs are the same config (compared as same_sweep compares the base config). A
/// config that no longer validates is an error here, not a conflict.
bool same_config(const std::string& a, const std::string& b);

}  // namespace analog::sweep
