// Merging the results files of a sweep's shards.
#include "analog/sweep/results_merge.h"

#include <sys/stat.h>

#include <map>

#include <c10/util/Exception.h>

#include "analog/sweep/results_check.h"
#include "sweep/atomic_write.h"

namespace analog::sweep {

MergeReport merge_results(const std::vector<std::string>& inputs, const std::string& output) {
  TORCH_CHECK(!inputs.empty(), "merge: no input files");
  MergeReport report;
  std::string fingerprint;
  ResultsFormat format = ResultsFormat::kCsv;
  std::map<std::string, SweepRow> by_key;
  bool energy_columns = false;  // the output has them when an input has
  for (size_t k = 0; k < inputs.size(); ++k) {
    ResultsData data = read_results(inputs[k]);
    energy_columns = energy_columns || data.layout.energy;
    if (k == 0) {
      fingerprint = data.fingerprint;
      format = data.format;
    }
    TORCH_CHECK(same_sweep(data.fingerprint, fingerprint), "merge: ", inputs[k],
                " belongs to a different sweep than ", inputs[0]);
    check_rows(data, SweepSpec::from_fingerprint(data.fingerprint), inputs[k]);
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
  SweepSpec spec = SweepSpec::from_fingerprint(fingerprint);
  spec.energy_columns = energy_columns;
  std::string text = format_header(spec, format);
  const RowLayout layout = spec.row_layout();
  for (const auto& job : spec.jobs()) {
    auto it = by_key.find(job.key());
    if (it == by_key.end()) {
      report.missing.push_back(job.key());
      continue;
    }
    text += format_row(it->second, format, layout) + "\n";
    ++report.rows;
  }
  // An existing output is replaced only by a merge that includes it, so no row of it is lost.
  struct stat st {};
  if (::lstat(output.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    bool is_input = false;
    for (const auto& in : inputs) is_input = is_input || same_file(in, output);
    TORCH_CHECK(is_input, "merge: ", output,
                " exists and is not one of the inputs; expected a new path (or list it as an "
                "input to merge into it)");
  }
  write_file_atomically(output, text, "merge");
  return report;
}

}  // namespace analog::sweep
