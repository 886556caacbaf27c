// Results of a sweep: one row per finished run, appended whole and fsynced, resumable.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "analog/sweep/sweep_spec.h"

namespace analog::sweep {

/// One finished run.
struct SweepRow {
  std::string kind = "analog";        ///< analog | digital
  int64_t point = -1;                 ///< grid point index (-1: digital)
  std::vector<std::string> values;    ///< grid values, one per axis (empty strings: digital)
  int64_t seed = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, train_time_sec = 0;
  std::string status = "ok";          ///< ok | diverged
  int64_t diverged_epoch = 0;         ///< 1-based epoch of divergence (0: none)
  std::string config;                 ///< the run's full RPU config, compact JSON ("" for digital)

  std::string key() const;
  /// Same numbers (everything but the wall time).
  bool same_result(const SweepRow& other) const;
};

enum class ResultsFormat { kCsv, kJsonl };

/// Contents of a results file.
struct ResultsData {
  ResultsFormat format = ResultsFormat::kCsv;
  std::string fingerprint;
  std::vector<SweepRow> rows;
  bool dropped_partial_line = false;  ///< the last line was cut (killed mid-write) and ignored
};

/// Reads a results file (CSV with a `# analog-sweep {...}` header line, or JSON lines with an
/// {"analog_sweep": {...}} first line). A last line without newline is ignored (reported in
/// dropped_partial_line); any other malformed line is an error naming the line.
ResultsData read_results(const std::string& path);

/// The results file of a running sweep. Opening it resumes: rows already there are kept (a cut
/// last line is removed from the file), a file of another sweep is refused. append() writes a
/// row as one write(), then fsync()s, so a finished run is never lost or written twice.
///
/// Several processes may share one file (analog-sweep --processes, or shards given the same
/// --out): opening and appending hold an flock() on it, and append() first reads what the others
/// appended, so that a run is recorded once even when two processes finished it. One object is
/// not thread-safe: threads of a process that share it take turns.
class ResultsFile {
 public:
  ResultsFile(const std::string& path, ResultsFormat format, const SweepSpec& spec);
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  /// The rows read or written so far, each run once, in file order.
  const std::vector<SweepRow>& rows() const { return rows_; }
  bool has(const std::string& key) const { return done_.count(key) > 0; }
  bool dropped_partial_line() const { return dropped_partial_; }
  /// Appends `row` unless its run is in the file already (recorded by this object, or by another
  /// process, whose rows it reads first): then it writes nothing and returns false.
  bool append(const SweepRow& row);
  /// Reads the rows other processes appended since; returns how many there were.
  size_t refresh();

 private:
  void add(SweepRow&& row);
  void write_all(const std::string& text);
  size_t read_appended(bool repair);

  std::string path_;
  ResultsFormat format_;
  std::vector<std::string> grid_keys_;
  int fd_ = -1;
  off_t offset_ = 0;  ///< bytes of the file read so far (whole lines)
  std::vector<SweepRow> rows_;
  std::set<std::string> done_;
  bool dropped_partial_ = false;
};

/// Outcome of merging shards.
struct MergeReport {
  int64_t rows = 0;
  std::vector<std::string> missing;     ///< keys of runs in no input
  std::vector<std::string> duplicated;  ///< keys found more than once (kept once)
  std::vector<std::string> conflicting; ///< keys found twice with different numbers
};

/// Merges results files of one sweep (equal fingerprints, else an error naming the file) into
/// `output` in run order, in the format of the first input.
MergeReport merge_results(const std::vector<std::string>& inputs, const std::string& output);

/// The text of one row (CSV line or JSON line) without the newline.
std::string format_row(const SweepRow& row, ResultsFormat format, const std::vector<std::string>& grid_keys);
/// The header lines of a new file.
std::string format_header(const SweepSpec& spec, ResultsFormat format);

}  // namespace analog::sweep
