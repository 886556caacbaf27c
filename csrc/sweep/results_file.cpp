// The results file of a running sweep: resume with cut-line repair, locked append and fsync.
#include "analog/sweep/results_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <c10/util/Exception.h>

#include "analog/error_message.h"
#include "analog/sweep/results_check.h"

namespace analog::sweep {
namespace {

void check_io(bool ok, const std::string& path, const char* what) {
  TORCH_CHECK(ok, path, ": ", what, " failed: ", std::strerror(errno));
}

/// flock() on a file for the lifetime of the object: appends of processes that share a results
/// file take turns, and readers see whole lines.
class FileLock {
 public:
  FileLock(int fd, int operation, const std::string& path) : fd_(fd) {
    int rc;
    while ((rc = ::flock(fd_, operation)) != 0 && errno == EINTR) {
    }
    check_io(rc == 0, path, "flock");
  }
  ~FileLock() { ::flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

/// The bytes of `fd` from `offset` to its end.
std::string read_from(int fd, off_t offset, const std::string& path) {
  struct stat st {};
  check_io(::fstat(fd, &st) == 0, path, "fstat");
  std::string text(static_cast<size_t>(std::max<off_t>(st.st_size - offset, 0)), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n =
        ::pread(fd, text.data() + got, text.size() - got, offset + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    check_io(n >= 0, path, "read");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace

ResultsFile::ResultsFile(const std::string& path, ResultsFormat format, const SweepSpec& spec)
    : path_(path), format_(format), layout_(spec.row_layout()), checker_(spec) {
  // NB: O_NONBLOCK so that a FIFO named as the results file is refused, not waited on.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
  check_io(fd_ >= 0, path, "open");
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    TORCH_CHECK(false, path,
                ": not a regular file (a FIFO, device or directory); expected a "
                "results file or a new path");
  }
  try {
    // Exclusive: another process opening the same new file must not write a second header.
    const FileLock lock(fd_, LOCK_EX, path_);
    std::string text = read_from(fd_, 0, path_);
    if (text.empty()) {
      text = format_header(spec, format);
      write_all(text);
    }
    size_t consumed = 0;
    ResultsData data = parse_results(text, path, consumed);
    TORCH_CHECK(same_sweep(data.fingerprint, spec.fingerprint()), path,
                ": this results file belongs to a different sweep (other base config, grid or "
                "training options); use another --out or the same options");
    TORCH_CHECK(data.format == format, path, ": the file is ",
                data.format == ResultsFormat::kCsv ? "CSV" : "JSON lines",
                ", but the other format was asked for");
    // Rows go on in the file's own columns (a header without "energy": no energy columns).
    layout_ = data.layout;
    check_rows(data, spec, path);  // a run kept here is never run again: it must be right
    if (data.dropped_partial_line) {
      // Cut the half-written last line so that appends start on a line of their own.
      check_io(::ftruncate(fd_, static_cast<off_t>(consumed)) == 0, path, "truncate");
      dropped_partial_ = true;
    }
    offset_ = static_cast<off_t>(consumed);
    for (auto& row : data.rows) add(std::move(row));
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

ResultsFile::~ResultsFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ResultsFile::add(SweepRow&& row) {
  if (done_.insert(row.key()).second) rows_.push_back(std::move(row));
}

void ResultsFile::write_all(const std::string& text) {
  struct stat st {};
  check_io(::fstat(fd_, &st) == 0, path_, "fstat");
  for (size_t written = 0; written < text.size();) {
    const ssize_t n = ::write(fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      (void)!::ftruncate(fd_, st.st_size);  // leave no cut line behind
      errno = err;
      check_io(false, path_, "write");
    }
    written += static_cast<size_t>(n);
  }
  check_io(::fsync(fd_) == 0, path_, "fsync");
}

size_t ResultsFile::read_appended(bool repair) {
  const std::string text = read_from(fd_, offset_, path_);
  size_t consumed = 0;
  const auto lines = complete_lines(text, consumed);
  if (repair && consumed < text.size()) {
    // Appends hold the lock for their whole line, so a cut line is one a killed process left.
    check_io(::ftruncate(fd_, offset_ + static_cast<off_t>(consumed)) == 0, path_, "truncate");
  }
  const size_t before = rows_.size();
  for (const auto& line : lines) {
    try {
      SweepRow row = parse_row_line(line, format_, layout_);
      checker_.check(row);
      add(std::move(row));
    } catch (const std::exception& e) {
      TORCH_CHECK(false, path_,
                  ": a line appended by another process is malformed: ", error_message(e));
    }
  }
  offset_ += static_cast<off_t>(consumed);
  return rows_.size() - before;
}

size_t ResultsFile::refresh() {
  const FileLock lock(fd_, LOCK_SH, path_);
  return read_appended(/*repair=*/false);
}

bool ResultsFile::append(const SweepRow& row) {
  if (has(row.key())) return false;
  const FileLock lock(fd_, LOCK_EX, path_);
  read_appended(/*repair=*/true);
  if (has(row.key())) return false;  // another process recorded it meanwhile
  const std::string line = format_row(row, format_, layout_) + "\n";
  write_all(line);
  offset_ += static_cast<off_t>(line.size());
  add(SweepRow(row));
  return true;
}

}  // namespace analog::sweep
