// The results file of a running sweep: appended one finished run at a time, fsynced, resumable,
// shared by processes.
#pragma once
#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "analog/sweep/results_check.h"
#include "analog/sweep/results_format.h"
#include "analog/sweep/sweep_spec.h"

namespace analog::sweep {

/// The results file of a running sweep. Opening it resumes: rows already there are kept (a cut
/// last line is removed from the file), a file of another sweep is refused, and so is a row that
/// is not a run of this sweep as it writes them, or a run recorded twice (check_rows). append()
/// writes a row as one write(), then fsync()s, so a finished run is never lost or written twice.
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
  RowLayout layout_;
  RowChecker checker_;  ///< for the rows other processes append
  int fd_ = -1;
  off_t offset_ = 0;  ///< bytes of the file read so far (whole lines)
  std::vector<SweepRow> rows_;
  std::set<std::string> done_;
  bool dropped_partial_ = false;
};

}  // namespace analog::sweep
