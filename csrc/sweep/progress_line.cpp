// The one-line progress report of a sweep.
#include "analog/sweep/progress_line.h"

#include <unistd.h>

#include <algorithm>

namespace analog::sweep {

std::string format_duration(double seconds) {
  const auto t = static_cast<long long>(seconds);
  char text[64];
  if (t >= 3600) {
    std::snprintf(text, sizeof text, "%lldh%02lldm", t / 3600, t / 60 % 60);
  } else if (t >= 60) {
    std::snprintf(text, sizeof text, "%lldm%02llds", t / 60, t % 60);
  } else {
    std::snprintf(text, sizeof text, "%llds", t);
  }
  return text;
}

ProgressLine::ProgressLine(int64_t total, std::FILE* out, bool tty)
    : total_(total), out_(out), tty_(tty) {}

ProgressLine::ProgressLine(int64_t total)
    : ProgressLine(total, stderr, isatty(STDERR_FILENO) != 0) {}

void ProgressLine::show(int64_t done, const std::string& running, int64_t diverged,
                        double partial) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const auto total = static_cast<double>(total_);
  // (a partial figure read a moment before a run's end may overlap its count in `done`)
  const double work = std::min(total, static_cast<double>(done) + std::max(0.0, partial));
  const double eta = work > 0 ? elapsed / work * (total - work) : 0;
  const int percent = total_ > 0 ? static_cast<int>(100.0 * work / total) : 100;
  const std::string line = "[sweep] " + std::to_string(done) + "/" + std::to_string(total_) +
                           " done (" + std::to_string(percent) + "%), " + running + ", " +
                           std::to_string(diverged) + " diverged, elapsed " +
                           format_duration(elapsed) + ", ETA " +
                           (work > 0 ? format_duration(eta) : "?");
  if (tty_) {
    std::fprintf(out_, "\r%-90s", line.c_str());
  } else if (std::chrono::duration<double>(now - last_plain_).count() >= 10.0 ||
             (done == total_ && !ended_)) {
    std::fprintf(out_, "%s\n", line.c_str());
    last_plain_ = now;
  }
  std::fflush(out_);
  ended_ = done == total_;
}

void ProgressLine::note(const std::string& text) {
  std::fprintf(out_, tty_ ? "\r%-90s\n" : "%s\n", text.c_str());
  std::fflush(out_);
}

double ProgressLine::finish() const {
  if (tty_) std::fprintf(out_, "\n");
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace analog::sweep
