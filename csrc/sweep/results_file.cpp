// Results files: CSV / JSON lines, resume with cut-line repair, locked append + fsync, merge.
#include "analog/sweep/results_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

namespace analog::sweep {
namespace {

constexpr const char* kCsvMagic = "# analog-sweep ";
const std::vector<std::string> kMetricColumns = {"seed",       "train_loss", "train_acc",
                                                 "test_loss",  "test_acc",   "train_time_sec",
                                                 "status",     "diverged_epoch", "config"};

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

double parse_number(const std::string& text) {
  if (text == "nan") return std::nan("");
  return std::stod(text);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  fields.push_back(cur);
  return fields;
}

std::vector<std::string> csv_columns(const std::vector<std::string>& grid_keys) {
  std::vector<std::string> cols = {"kind", "point"};
  cols.insert(cols.end(), grid_keys.begin(), grid_keys.end());
  cols.insert(cols.end(), kMetricColumns.begin(), kMetricColumns.end());
  return cols;
}

SweepRow parse_csv_row(const std::vector<std::string>& f, size_t n_grid) {
  SweepRow r;
  size_t k = 0;
  r.kind = f[k++];
  r.point = std::stoll(f[k++]);
  for (size_t a = 0; a < n_grid; ++a) r.values.push_back(f[k++]);
  r.seed = std::stoll(f[k++]);
  r.train_loss = parse_number(f[k++]);
  r.train_acc = parse_number(f[k++]);
  r.test_loss = parse_number(f[k++]);
  r.test_acc = parse_number(f[k++]);
  r.train_time_sec = parse_number(f[k++]);
  r.status = f[k++];
  r.diverged_epoch = std::stoll(f[k++]);
  r.config = f[k++];
  return r;
}

nlohmann::ordered_json json_number(double v) {
  return std::isnan(v) ? nlohmann::ordered_json("nan") : nlohmann::ordered_json(std::stod(number(v)));
}

double from_json_number(const nlohmann::json& j) {
  return j.is_string() ? parse_number(j.get<std::string>()) : j.get<double>();
}

SweepRow parse_json_row(const nlohmann::json& j, const std::vector<std::string>& grid_keys) {
  SweepRow r;
  r.kind = j.at("kind");
  r.point = j.at("point");
  for (const auto& key : grid_keys) r.values.push_back(j.at(key).get<std::string>());
  r.seed = j.at("seed");
  r.train_loss = from_json_number(j.at("train_loss"));
  r.train_acc = from_json_number(j.at("train_acc"));
  r.test_loss = from_json_number(j.at("test_loss"));
  r.test_acc = from_json_number(j.at("test_acc"));
  r.train_time_sec = from_json_number(j.at("train_time_sec"));
  r.status = j.at("status");
  r.diverged_epoch = j.at("diverged_epoch");
  r.config = j.at("config").is_null() ? "" : j.at("config").dump();
  return r;
}

/// Two fingerprints describe the same sweep: the same options once read back, whatever the key
/// order, and with a field that a file from an earlier version lacks at its default (the config
/// keys added since, such as device.model, keep their old behaviour at their defaults).
bool same_sweep(const std::string& a, const std::string& b) {
  return a == b || SweepSpec::from_fingerprint(a).fingerprint() == SweepSpec::from_fingerprint(b).fingerprint();
}

/// Two rows' configs are the same config (compared as same_sweep compares the base config). A
/// config that no longer validates is an error here, not a conflict.
bool same_config(const std::string& a, const std::string& b) {
  return a == b || (!a.empty() && !b.empty() && RPUConfig::from_json(a) == RPUConfig::from_json(b));
}

void check_io(bool ok, const std::string& path, const char* what) {
  TORCH_CHECK(ok, path, ": ", what, " failed: ", std::strerror(errno));
}

}  // namespace

std::string SweepRow::key() const {
  return kind == "digital" ? "digital/" + std::to_string(seed)
                           : "analog/" + std::to_string(point) + "/" + std::to_string(seed);
}

bool SweepRow::same_result(const SweepRow& o) const {
  const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  return key() == o.key() && values == o.values && same(train_loss, o.train_loss) &&
         same(train_acc, o.train_acc) && same(test_loss, o.test_loss) && same(test_acc, o.test_acc) &&
         status == o.status && diverged_epoch == o.diverged_epoch && same_config(config, o.config);
}

std::string format_header(const SweepSpec& spec, ResultsFormat format) {
  if (format == ResultsFormat::kJsonl) {
    return "{\"analog_sweep\":" + spec.fingerprint() + "}\n";
  }
  std::string header = std::string(kCsvMagic) + spec.fingerprint() + "\n";
  const auto cols = csv_columns(spec.grid_keys());
  for (size_t k = 0; k < cols.size(); ++k) header += (k ? "," : "") + cols[k];
  return header + "\n";
}

std::string format_row(const SweepRow& r, ResultsFormat format, const std::vector<std::string>& grid_keys) {
  if (format == ResultsFormat::kJsonl) {
    nlohmann::ordered_json j;
    j["kind"] = r.kind;
    j["point"] = r.point;
    for (size_t a = 0; a < grid_keys.size(); ++a) j[grid_keys[a]] = r.values[a];
    j["seed"] = r.seed;
    j["train_loss"] = json_number(r.train_loss);
    j["train_acc"] = json_number(r.train_acc);
    j["test_loss"] = json_number(r.test_loss);
    j["test_acc"] = json_number(r.test_acc);
    j["train_time_sec"] = json_number(r.train_time_sec);
    j["status"] = r.status;
    j["diverged_epoch"] = r.diverged_epoch;
    j["config"] = r.config.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(r.config);
    return j.dump();
  }
  std::string line = r.kind + "," + std::to_string(r.point);
  for (const auto& v : r.values) line += "," + csv_field(v);
  line += "," + std::to_string(r.seed) + "," + number(r.train_loss) + "," + number(r.train_acc) + "," +
          number(r.test_loss) + "," + number(r.test_acc) + "," + number(r.train_time_sec) + "," +
          r.status + "," + std::to_string(r.diverged_epoch) + "," + csv_field(r.config);
  return line;
}

namespace {

/// Parses one row line of a file in `format`; throws on a malformed line.
SweepRow parse_row_line(const std::string& line, ResultsFormat format, const std::vector<std::string>& grid_keys) {
  if (format == ResultsFormat::kCsv) {
    const auto fields = split_csv(line);
    const size_t n_fields = csv_columns(grid_keys).size();
    TORCH_CHECK(fields.size() == n_fields, "expected ", n_fields, " fields, got ", fields.size());
    return parse_csv_row(fields, grid_keys.size());
  }
  return parse_json_row(nlohmann::json::parse(line), grid_keys);
}

/// The complete lines of `text` (a last line without newline is not one); `end` becomes the
/// offset just past the last newline.
std::vector<std::string> complete_lines(const std::string& text, size_t& end) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  end = start;
  return lines;
}

/// A results file's text: header, then rows. `consumed` is the offset past the last whole line.
ResultsData parse_results(const std::string& text, const std::string& path, size_t& consumed) {
  ResultsData data;
  const std::vector<std::string> lines = complete_lines(text, consumed);
  data.dropped_partial_line = consumed < text.size();  // cut while being written
  TORCH_CHECK(!lines.empty(), path, ": empty results file (no header)");
  std::vector<std::string> grid_keys;
  size_t first_row = 0;
  if (lines[0].rfind(kCsvMagic, 0) == 0) {
    data.format = ResultsFormat::kCsv;
    data.fingerprint = lines[0].substr(std::strlen(kCsvMagic));
    grid_keys = SweepSpec::from_fingerprint(data.fingerprint).grid_keys();
    TORCH_CHECK(lines.size() >= 2, path, ": missing the CSV column header");
    TORCH_CHECK(split_csv(lines[1]) == csv_columns(grid_keys), path, ": line 2: unexpected CSV columns");
    first_row = 2;
  } else {
    nlohmann::json head;
    try {
      head = nlohmann::json::parse(lines[0]);
    } catch (const std::exception&) {
      TORCH_CHECK(false, path, ": not an analog-sweep results file (line 1)");
    }
    TORCH_CHECK(head.is_object() && head.contains("analog_sweep"), path,
                ": not an analog-sweep results file (line 1)");
    data.format = ResultsFormat::kJsonl;
    const std::string prefix = "{\"analog_sweep\":";
    data.fingerprint = lines[0].rfind(prefix, 0) == 0 && lines[0].back() == '}'
                           ? lines[0].substr(prefix.size(), lines[0].size() - prefix.size() - 1)
                           : head["analog_sweep"].dump();
    grid_keys = SweepSpec::from_fingerprint(data.fingerprint).grid_keys();
    first_row = 1;
  }
  for (size_t k = first_row; k < lines.size(); ++k) {
    try {
      data.rows.push_back(parse_row_line(lines[k], data.format, grid_keys));
    } catch (const std::exception& e) {
      TORCH_CHECK(false, path, ": line ", k + 1, " is malformed: ", e.what());
    }
  }
  return data;
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
    const ssize_t n = ::pread(fd, text.data() + got, text.size() - got, offset + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    check_io(n >= 0, path, "read");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace

ResultsData read_results(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in.good(), path, ": cannot open the results file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  size_t consumed = 0;
  return parse_results(buffer.str(), path, consumed);
}

ResultsFile::ResultsFile(const std::string& path, ResultsFormat format, const SweepSpec& spec)
    : path_(path), format_(format), grid_keys_(spec.grid_keys()) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  check_io(fd_ >= 0, path, "open");
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
      add(parse_row_line(line, format_, grid_keys_));
    } catch (const std::exception& e) {
      TORCH_CHECK(false, path_, ": a line appended by another process is malformed: ", e.what());
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
  const std::string line = format_row(row, format_, grid_keys_) + "\n";
  write_all(line);
  offset_ += static_cast<off_t>(line.size());
  add(SweepRow(row));
  return true;
}

MergeReport merge_results(const std::vector<std::string>& inputs, const std::string& output) {
  TORCH_CHECK(!inputs.empty(), "merge: no input files");
  MergeReport report;
  std::string fingerprint;
  ResultsFormat format = ResultsFormat::kCsv;
  std::map<std::string, SweepRow> by_key;
  for (size_t k = 0; k < inputs.size(); ++k) {
    ResultsData data = read_results(inputs[k]);
    if (k == 0) {
      fingerprint = data.fingerprint;
      format = data.format;
    }
    TORCH_CHECK(same_sweep(data.fingerprint, fingerprint), "merge: ", inputs[k],
                " belongs to a different sweep than ", inputs[0]);
    for (auto& row : data.rows) {
      auto it = by_key.find(row.key());
      if (it == by_key.end()) {
        by_key.emplace(row.key(), std::move(row));
      } else if (it->second.same_result(row)) {
        report.duplicated.push_back(row.key());
      } else {
        report.conflicting.push_back(row.key());
      }
    }
  }
  const SweepSpec spec = SweepSpec::from_fingerprint(fingerprint);
  std::string text = format_header(spec, format);
  for (const auto& job : spec.jobs()) {
    auto it = by_key.find(job.key());
    if (it == by_key.end()) {
      report.missing.push_back(job.key());
      continue;
    }
    text += format_row(it->second, format, spec.grid_keys()) + "\n";
    ++report.rows;
  }
  const std::string tmp = output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    TORCH_CHECK(out.good(), "merge: cannot write ", tmp);
    out << text;
    out.flush();
    TORCH_CHECK(out.good(), "merge: writing ", tmp, " failed");
  }
  check_io(std::rename(tmp.c_str(), output.c_str()) == 0, output, "rename");
  return report;
}

}  // namespace analog::sweep
