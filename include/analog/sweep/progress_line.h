// The one-line progress report of a sweep.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace analog::sweep {

/// Seconds as "42s", "3m07s" or "2h05m".
std::string format_duration(double seconds);

/// "[sweep] 12/144 done (9%), <running>, 1 diverged, elapsed 1m02s, ETA 9m10s": rewritten in
/// place on a terminal, else written as a line every 10 s and once when every run is done. The
/// percentage and the ETA count the finished part of the running runs too, so that a long run
/// (a population of every point: one task) shows its progress before it ends.
class ProgressLine {
 public:
  /// `total` runs; lines go to `out` (a terminal or not, as `tty` says).
  ProgressLine(int64_t total, std::FILE* out, bool tty);
  /// Writes to stderr, rewriting in place where it is a terminal.
  explicit ProgressLine(int64_t total);

  /// Reports `done` runs finished, `diverged` of them diverged; `running` says what runs now and
  /// `partial` (in runs, >= 0) how much of it is done.
  void show(int64_t done, const std::string& running, int64_t diverged, double partial = 0.0);
  /// Writes `text` as a line of its own (on a terminal over the progress line, which the next
  /// show() writes again).
  void note(const std::string& text);
  /// Ends the line on a terminal; returns the seconds since the start.
  double finish() const;

 private:
  int64_t total_;
  std::FILE* out_;
  bool tty_;
  bool ended_ = false;  ///< the line with every run done has been shown
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(),
                                        last_plain_ = start_;
};

}  // namespace analog::sweep
