// The results file's format: CSV or JSON lines, their header and row codec, and the comparisons
// of sweeps and rows that resuming and merging need.
#include "analog/sweep/results_format.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <sstream>

#include <c10/util/Exception.h>

#include <nlohmann/json.hpp>

#include "analog/error_message.h"
#include "analog/quoted.h"
#include "config/json_guard.h"
#include "io/input_file.h"

namespace analog::sweep {
namespace {

constexpr const char* kCsvMagic = "# analog-sweep ";
const std::vector<std::string> kMetricColumns = {"seed",      "train_loss",    "train_acc",
                                                 "test_loss", "test_acc",      "train_time_sec",
                                                 "status",    "diverged_epoch"};

const std::vector<std::string> kEnergyColumns = {
    "energy_train_j", "energy_sample_j", "latency_sample_s", "digital_train_j", "digital_sample_j"};

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

/// A whole field as `T` via from_chars: for a double a decimal (or nan, inf, -inf) as number()
/// writes it, for an int64 an optional '-' and decimal digits within range; nothing else.
template <class T>
T parse_field(const std::string& text, const char* expected) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  TORCH_CHECK(ec == std::errc() && end == text.data() + text.size() && !text.empty(), "expected ",
              expected, ", got ", quoted(text));
  return v;
}

double parse_number(const std::string& text) { return parse_field<double>(text, "a number"); }

int64_t parse_whole(const std::string& text) {
  return parse_field<int64_t>(text, "a whole number");
}

/// Field `key` of a JSON row, a whole number.
int64_t json_whole(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  TORCH_CHECK(v.is_number_integer(), "'", key, "': expected a whole number, got ", v.type_name());
  return v.get<int64_t>();
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

std::vector<std::string> csv_columns(const RowLayout& layout) {
  std::vector<std::string> cols = {"kind", "point"};
  cols.insert(cols.end(), layout.grid_keys.begin(), layout.grid_keys.end());
  cols.insert(cols.end(), kMetricColumns.begin(), kMetricColumns.end());
  cols.insert(cols.end(), layout.eval_columns.begin(), layout.eval_columns.end());
  if (layout.energy) cols.insert(cols.end(), kEnergyColumns.begin(), kEnergyColumns.end());
  cols.push_back("config");
  return cols;
}

SweepRow parse_csv_row(const std::vector<std::string>& f, const RowLayout& layout) {
  SweepRow r;
  size_t k = 0;
  r.kind = f[k++];
  r.point = parse_whole(f[k++]);
  for (size_t a = 0; a < layout.grid_keys.size(); ++a) r.values.push_back(f[k++]);
  r.seed = parse_whole(f[k++]);
  r.train_loss = parse_number(f[k++]);
  r.train_acc = parse_number(f[k++]);
  r.test_loss = parse_number(f[k++]);
  r.test_acc = parse_number(f[k++]);
  r.train_time_sec = parse_number(f[k++]);
  r.status = f[k++];
  r.diverged_epoch = parse_whole(f[k++]);
  for (size_t t = 0; t < layout.eval_columns.size(); ++t)
    r.test_acc_at.push_back(parse_number(f[k++]));
  if (layout.energy) {
    for (double* v : r.energy.fields()) *v = parse_number(f[k++]);
  }
  r.config = f[k++];
  return r;
}

nlohmann::ordered_json json_number(double v) {
  return std::isnan(v) ? nlohmann::ordered_json("nan")
                       : nlohmann::ordered_json(std::stod(number(v)));
}

double from_json_number(const nlohmann::json& j) {
  return j.is_string() ? parse_number(j.get<std::string>()) : j.get<double>();
}

SweepRow parse_json_row(const nlohmann::json& j, const RowLayout& layout) {
  SweepRow r;
  r.kind = j.at("kind");
  r.point = json_whole(j, "point");
  for (const auto& key : layout.grid_keys) r.values.push_back(j.at(key).get<std::string>());
  r.seed = json_whole(j, "seed");
  r.train_loss = from_json_number(j.at("train_loss"));
  r.train_acc = from_json_number(j.at("train_acc"));
  r.test_loss = from_json_number(j.at("test_loss"));
  r.test_acc = from_json_number(j.at("test_acc"));
  r.train_time_sec = from_json_number(j.at("train_time_sec"));
  r.status = j.at("status");
  r.diverged_epoch = json_whole(j, "diverged_epoch");
  for (const auto& column : layout.eval_columns)
    r.test_acc_at.push_back(from_json_number(j.at(column)));
  if (layout.energy) {
    const auto fields = r.energy.fields();
    for (size_t k = 0; k < fields.size(); ++k)
      *fields[k] = from_json_number(j.at(kEnergyColumns[k]));
  }
  r.config = j.at("config").is_null() ? "" : j.at("config").dump();
  return r;
}

}  // namespace

bool same_sweep(const std::string& a, const std::string& b) {
  if (a == b) return true;
  SweepSpec sa = SweepSpec::from_fingerprint(a), sb = SweepSpec::from_fingerprint(b);
  // NB: a file from before the data's identity was recorded names none: it resumes and merges
  // on the data set's name alone, as it always did.
  if (sa.data.empty() || sb.data.empty()) sa.data = sb.data = "";
  sa.energy_columns = sb.energy_columns = false;  // (which columns a file has: not its numbers)
  return sa.fingerprint() == sb.fingerprint();
}

bool same_config(const std::string& a, const std::string& b) {
  return a == b || (!a.empty() && !b.empty() && RPUConfig::from_json(a) == RPUConfig::from_json(b));
}

std::string SweepRow::key() const {
  return kind == "digital" ? "digital/" + std::to_string(seed)
                           : "analog/" + std::to_string(point) + "/" + std::to_string(seed);
}

bool SweepRow::same_result(const SweepRow& o) const {
  const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  bool same_at = test_acc_at.size() == o.test_acc_at.size();
  for (size_t k = 0; same_at && k < test_acc_at.size(); ++k)
    same_at = same(test_acc_at[k], o.test_acc_at[k]);
  return key() == o.key() && values == o.values && same_at && same(train_loss, o.train_loss) &&
         same(train_acc, o.train_acc) && same(test_loss, o.test_loss) &&
         same(test_acc, o.test_acc) && status == o.status && diverged_epoch == o.diverged_epoch &&
         same_config(config, o.config);
}

std::string format_header(const SweepSpec& spec, ResultsFormat format) {
  if (format == ResultsFormat::kJsonl) {
    return "{\"analog_sweep\":" + spec.fingerprint() + "}\n";
  }
  std::string header = std::string(kCsvMagic) + spec.fingerprint() + "\n";
  const auto cols = csv_columns(spec.row_layout());
  for (size_t k = 0; k < cols.size(); ++k) header += (k ? "," : "") + cols[k];
  return header + "\n";
}

std::string format_row(const SweepRow& r, ResultsFormat format, const RowLayout& layout) {
  TORCH_CHECK(r.values.size() == layout.grid_keys.size() &&
                  r.test_acc_at.size() == layout.eval_columns.size(),
              "format_row: run ", r.key(), " has ", r.values.size(), " grid values and ",
              r.test_acc_at.size(), " evaluation times, expected ", layout.grid_keys.size(),
              " and ", layout.eval_columns.size());
  if (format == ResultsFormat::kJsonl) {
    nlohmann::ordered_json j;
    j["kind"] = r.kind;
    j["point"] = r.point;
    for (size_t a = 0; a < layout.grid_keys.size(); ++a) j[layout.grid_keys[a]] = r.values[a];
    j["seed"] = r.seed;
    j["train_loss"] = json_number(r.train_loss);
    j["train_acc"] = json_number(r.train_acc);
    j["test_loss"] = json_number(r.test_loss);
    j["test_acc"] = json_number(r.test_acc);
    j["train_time_sec"] = json_number(r.train_time_sec);
    j["status"] = r.status;
    j["diverged_epoch"] = r.diverged_epoch;
    for (size_t t = 0; t < layout.eval_columns.size(); ++t)
      j[layout.eval_columns[t]] = json_number(r.test_acc_at[t]);
    if (layout.energy) {
      const auto values = r.energy.values();
      for (size_t k = 0; k < values.size(); ++k) j[kEnergyColumns[k]] = json_number(values[k]);
    }
    j["config"] =
        r.config.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(r.config);
    return j.dump();
  }
  std::string line = r.kind + "," + std::to_string(r.point);
  for (const auto& v : r.values) line += "," + csv_field(v);
  line += "," + std::to_string(r.seed) + "," + number(r.train_loss) + "," + number(r.train_acc) +
          "," + number(r.test_loss) + "," + number(r.test_acc) + "," + number(r.train_time_sec) +
          "," + r.status + "," + std::to_string(r.diverged_epoch);
  for (const double a : r.test_acc_at) line += "," + number(a);
  if (layout.energy) {
    for (const double v : r.energy.values()) line += "," + number(v);
  }
  line += "," + csv_field(r.config);
  return line;
}

SweepRow parse_row_line(const std::string& line, ResultsFormat format, const RowLayout& layout) {
  if (format == ResultsFormat::kCsv) {
    const auto fields = split_csv(line);
    const size_t n_fields = csv_columns(layout).size();
    TORCH_CHECK(fields.size() == n_fields, "expected ", n_fields, " fields, got ", fields.size());
    return parse_csv_row(fields, layout);
  }
  check_json_text(line, "results row");
  return parse_json_row(nlohmann::json::parse(line), layout);
}

std::vector<std::string> complete_lines(const std::string& text, size_t& end) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  end = start;
  return lines;
}

ResultsData parse_results(const std::string& text, const std::string& path, size_t& consumed) {
  ResultsData data;
  const std::vector<std::string> lines = complete_lines(text, consumed);
  data.dropped_partial_line = consumed < text.size();  // cut while being written
  TORCH_CHECK(!lines.empty(), path, ": empty results file (no header)");
  RowLayout& layout = data.layout;
  size_t first_row = 0;
  if (lines[0].rfind(kCsvMagic, 0) == 0) {
    data.format = ResultsFormat::kCsv;
    data.fingerprint = lines[0].substr(std::strlen(kCsvMagic));
    layout = SweepSpec::from_fingerprint(data.fingerprint).row_layout();
    TORCH_CHECK(lines.size() >= 2, path, ": missing the CSV column header");
    TORCH_CHECK(split_csv(lines[1]) == csv_columns(layout), path,
                ": line 2: unexpected CSV columns");
    first_row = 2;
  } else {
    nlohmann::json head;
    check_json_text(lines[0], path + ": line 1");
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
    layout = SweepSpec::from_fingerprint(data.fingerprint).row_layout();
    first_row = 1;
  }
  data.first_row_line = first_row + 1;
  for (size_t k = first_row; k < lines.size(); ++k) {
    try {
      data.rows.push_back(parse_row_line(lines[k], data.format, layout));
    } catch (const std::exception& e) {
      TORCH_CHECK(false, path, ": line ", k + 1, " is malformed: ", error_message(e));
    }
  }
  return data;
}

ResultsData read_results(const std::string& path) {
  // (no limit of its own: a results file grows with its sweep, one row per run)
  const std::string text = read_input_file(path, "results file", std::string().max_size());
  size_t consumed = 0;
  return parse_results(text, path, consumed);
}

}  // namespace analog::sweep
