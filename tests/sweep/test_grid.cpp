// Sweep grids, the run list and results files (resume, cut lines, fingerprints, merge).
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include "support/test_support.h"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "analog/sweep/grid.h"
#include "analog/sweep/results_file.h"
#include "analog/sweep/results_merge.h"
#include "analog/sweep/sweep_spec.h"

namespace analog::sweep {
namespace {

using test::error_of;

TEST(Grid, RangesAreInclusiveWithoutFloatDrift) {
  const auto a = parse_axis("forward.out_noise=0:1:0.2");
  EXPECT_EQ(a.key, "forward.out_noise");
  EXPECT_EQ(a.values, (std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1"}));
  EXPECT_EQ(parse_axis("forward.out_noise=0.1:0.3:0.1").values,
            (std::vector<std::string>{"0.1", "0.2", "0.3"}));
  EXPECT_EQ(parse_axis("update.desired_bl=1,3,5,7").values,
            (std::vector<std::string>{"1", "3", "5", "7"}));
}

TEST(Grid, BadSpecsNameTheProblem) {
  EXPECT_THAT(error_of([] { parse_axis("forward.out_nose=0,1"); }),
              HasSubstr("unknown key 'forward.out_nose'"));
  EXPECT_THAT(error_of([] { parse_axis("update.desired_bl=0,1"); }),
              HasSubstr("update.desired_bl"));
  EXPECT_THAT(error_of([] { parse_axis("forward.out_noise=0:1"); }), HasSubstr("start:stop:step"));
  EXPECT_THAT(error_of([] { parse_axis("forward.out_noise=0:1:0"); }), HasSubstr("step > 0"));
  EXPECT_THAT(error_of([] { parse_axis("forward.out_noise"); }), HasSubstr("expected key="));
  EXPECT_THAT(error_of([] {
                expand_grid(RPUConfig(),
                            {parse_axis("update.desired_bl=1"), parse_axis("update.desired_bl=2")});
              }),
              HasSubstr("appears twice"));
}

TEST(Grid, TwoValuesOfOnePointAreAnError) {
  // Each pair names one point twice: the sweep would train it twice under two names.
  EXPECT_THAT(error_of([] { parse_axis("update.desired_bl=01,3,1"); }),
              HasSubstr("values '01' and '1' are the same update.desired_bl"));
  EXPECT_THAT(error_of([] { parse_axis("forward.out_noise=0.10,0.1"); }),
              HasSubstr("values '0.10' and '0.1'"));
  EXPECT_THAT(error_of([] { parse_axis("forward.out_noise=1e-1,0.1"); }),
              HasSubstr("the same forward.out_noise"));
  EXPECT_THAT(error_of([] { parse_axis("digital_layers=first+last,last+first"); }),
              HasSubstr("the same digital_layers"));
  // Values that differ stay, in the order given.
  EXPECT_EQ(parse_axis("forward.out_noise=0.1,0.01,0").values,
            (std::vector<std::string>{"0.1", "0.01", "0"}));
  EXPECT_EQ(parse_axis("digital_layers=none,first,first+last").values.size(), 3u);
}

TEST(Grid, DefaultGridIsTheSeedStudys144Points) {
  const auto points = expand_grid(RPUConfig(), default_grid());
  ASSERT_EQ(points.size(), 144u);
  EXPECT_EQ(points[0].values, (std::vector<std::string>{"0", "0", "1"}));
  EXPECT_EQ(points[1].values, (std::vector<std::string>{"0", "0", "3"}));  // last axis innermost
  EXPECT_EQ(points[143].values, (std::vector<std::string>{"1", "1", "7"}));
  EXPECT_DOUBLE_EQ(points[143].config.forward().out_noise(), 1.0);
  EXPECT_EQ(points[143].config.update().desired_bl(), 7);
  EXPECT_DOUBLE_EQ(points[4 * 6 * 3 + 5].config.forward().out_noise(), 0.6);  // fn index 3
}

// The digital_layers axis picks each point's hybrid design and leaves its RPU config alone.
TEST(Grid, DigitalLayersAxisResolvesLayerSetsPerPoint) {
  const auto axis = parse_axis("digital_layers=none,first+last,2");
  EXPECT_EQ(axis.values, (std::vector<std::string>{"none", "first+last", "2"}));
  const auto points = expand_grid(RPUConfig(), {parse_axis("update.desired_bl=1,3"), axis}, 4);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].digital_layers, (std::vector<int64_t>{}));
  EXPECT_EQ(points[1].digital_layers, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(points[5].digital_layers, (std::vector<int64_t>{2}));
  EXPECT_EQ(points[5].config.update().desired_bl(), 3);
  EXPECT_EQ(points[5].config.to_json(),
            expand_grid(RPUConfig(), {parse_axis("update.desired_bl=3")})[0].config.to_json());
  // Without the axis every point keeps the base design.
  EXPECT_EQ(expand_grid(RPUConfig(), {parse_axis("update.desired_bl=1")}, 4, {1})[0].digital_layers,
            (std::vector<int64_t>{1}));
}

TEST(Grid, BadDigitalLayersValuesNameTheValue) {
  EXPECT_THAT(error_of([] { parse_axis("digital_layers=first,middle"); }), HasSubstr("'middle'"));
  EXPECT_THAT(error_of([] { parse_axis("digital_layers=0"); }), HasSubstr("'0'"));
  // A layer the model lacks is found at expansion, where the model is known.
  EXPECT_THAT(error_of([] { expand_grid(RPUConfig(), {parse_axis("digital_layers=1+3")}, 2); }),
              HasSubstr("weight layers 1 to 2"));
  SweepSpec spec;
  spec.axes = {parse_axis("digital_layers=first")};
  spec.train.digital_layers = {2};
  EXPECT_THAT(error_of([&] { (void)spec.points(); }), HasSubstr("give one"));
}

TEST(Grid, GridFileTakesListsAndRanges) {
  const std::string path = ::testing::TempDir() + "grid.json";
  std::ofstream(path) << R"({"backward.out_noise": "0:0.5:0.25", "update.desired_bl": [1, 2]})";
  const auto axes = read_grid_file(path);
  ASSERT_EQ(axes.size(), 2u);
  EXPECT_EQ(axes[0].key, "backward.out_noise");
  EXPECT_EQ(axes[0].values, (std::vector<std::string>{"0", "0.25", "0.5"}));
  EXPECT_EQ(axes[1].values, (std::vector<std::string>{"1", "2"}));
}

SweepSpec small_spec() {
  SweepSpec s;
  s.axes = {parse_axis("forward.out_noise=0,0.5"), parse_axis("update.desired_bl=1,7")};
  s.repeats = 2;
  s.include_digital = true;
  s.train.epochs = 1;
  return s;
}

TEST(SweepSpec, JobsAndFingerprint) {
  const SweepSpec s = small_spec();
  const auto jobs = s.jobs();
  ASSERT_EQ(jobs.size(), 2u + 2u * 4u);
  EXPECT_TRUE(jobs[0].digital);
  EXPECT_EQ(jobs[2].point, 0);
  EXPECT_EQ(jobs[2].seed, 0);
  EXPECT_EQ(jobs[9].point, 3);
  EXPECT_EQ(jobs[9].seed, 1);
  EXPECT_EQ(SweepSpec::from_fingerprint(s.fingerprint()).fingerprint(), s.fingerprint());
  SweepSpec other = s;
  other.train.lr = 0.02;
  EXPECT_NE(other.fingerprint(), s.fingerprint());
}

// The data set is part of what a sweep computes: another one is another sweep; MNIST, the data
// set of results files from before the key, is left out, so that their headers stay the same.
TEST(SweepSpec, TheFingerprintNamesTheDataSetAndModelUnlessMnistAndMlp) {
  const SweepSpec mnist = small_spec();
  EXPECT_THAT(mnist.fingerprint(), Not(HasSubstr("dataset")));
  EXPECT_EQ(SweepSpec::from_fingerprint(mnist.fingerprint()).dataset, "mnist");
  SweepSpec fashion = mnist;
  fashion.dataset = "fashion-mnist";
  EXPECT_THAT(fashion.fingerprint(), HasSubstr("\"dataset\":\"fashion-mnist\""));
  EXPECT_EQ(SweepSpec::from_fingerprint(fashion.fingerprint()).dataset, "fashion-mnist");
  EXPECT_FALSE(same_sweep(fashion.fingerprint(), mnist.fingerprint()));
  // The model likewise: named unless it is the MLP.
  EXPECT_THAT(mnist.fingerprint(), Not(HasSubstr("\"model\":\"mlp\"")));
  SweepSpec lenet = mnist;
  lenet.train.model = "lenet5";
  EXPECT_THAT(lenet.fingerprint(), HasSubstr("\"model\":\"lenet5\""));
  EXPECT_EQ(SweepSpec::from_fingerprint(lenet.fingerprint()).train.model, "lenet5");
  EXPECT_FALSE(same_sweep(lenet.fingerprint(), mnist.fingerprint()));
}

// One hidden layer is a number in the fingerprint (as in files from before deeper MLPs), several
// an array; both read back.
TEST(SweepSpec, HiddenLayersReadBackAsNumberOrArray) {
  SweepSpec one = small_spec();
  one.train.hidden = {256};
  EXPECT_THAT(one.fingerprint(), HasSubstr("\"hidden\":256,"));
  EXPECT_EQ(SweepSpec::from_fingerprint(one.fingerprint()).train.hidden,
            (std::vector<int64_t>{256}));
  SweepSpec two = one;
  two.train.hidden = {256, 128};
  EXPECT_THAT(two.fingerprint(), HasSubstr("\"hidden\":[256,128]"));
  EXPECT_EQ(SweepSpec::from_fingerprint(two.fingerprint()).train.hidden,
            (std::vector<int64_t>{256, 128}));
  EXPECT_FALSE(same_sweep(one.fingerprint(), two.fingerprint()));
}

SweepRow row_for(const SweepJob& job, const SweepSpec& spec, double acc) {
  SweepRow r;
  r.kind = job.digital ? "digital" : "analog";
  r.point = job.point;
  r.seed = job.seed;
  r.values = job.digital ? std::vector<std::string>(2, "") : spec.points()[job.point].values;
  r.config = job.digital ? "" : spec.points()[job.point].config.to_json();
  r.test_acc = acc;
  r.train_loss = job.digital ? 0.5 : NAN;
  r.status = job.digital ? "ok" : "diverged";
  r.diverged_epoch = job.digital ? 0 : 1;
  return r;
}

class ResultsFileTest : public ::testing::TestWithParam<ResultsFormat> {};

TEST_P(ResultsFileTest, AppendResumeAndCutLastLine) {
  const SweepSpec spec = small_spec();
  const auto jobs = spec.jobs();
  const std::string path = ::testing::TempDir() + "results_" + std::to_string(int(GetParam()));
  std::remove(path.c_str());
  {
    ResultsFile f(path, GetParam(), spec);
    f.append(row_for(jobs[0], spec, 0.9));
    f.append(row_for(jobs[3], spec, 0.25));
    EXPECT_FALSE(f.append(row_for(jobs[3], spec, 0.3)));  // never twice
  }
  // Simulate a kill in the middle of writing the next row.
  const std::string cut =
      format_row(row_for(jobs[4], spec, 0.5), GetParam(), spec.row_layout()).substr(0, 20);
  std::ofstream(path, std::ios::app) << cut;
  {
    ResultsFile f(path, GetParam(), spec);
    EXPECT_TRUE(f.dropped_partial_line());
    ASSERT_EQ(f.rows().size(), 2u);
    EXPECT_TRUE(f.has(jobs[3].key()));
    EXPECT_FALSE(f.has(jobs[4].key()));
    EXPECT_TRUE(f.rows()[1].same_result(row_for(jobs[3], spec, 0.25)));
    EXPECT_TRUE(std::isnan(f.rows()[1].train_loss));
    f.append(row_for(jobs[4], spec, 0.5));
  }
  const ResultsData data = read_results(path);
  EXPECT_FALSE(data.dropped_partial_line);
  ASSERT_EQ(data.rows.size(), 3u);
  EXPECT_EQ(data.rows[2].key(), jobs[4].key());
  // A different sweep is refused.
  SweepSpec other = spec;
  other.train.epochs = 2;
  EXPECT_THAT(error_of([&] { ResultsFile f(path, GetParam(), other); }),
              HasSubstr("different sweep"));
}

INSTANTIATE_TEST_SUITE_P(Formats, ResultsFileTest,
                         ::testing::Values(ResultsFormat::kCsv, ResultsFormat::kJsonl));

// Processes that share a results file (analog-sweep --processes): each open file description
// stands for one process, as flock() sees it.
TEST(SharedResultsFile, EachRunOnceWhateverProcessFinishesIt) {
  const SweepSpec spec = small_spec();
  const auto jobs = spec.jobs();
  const std::string path = ::testing::TempDir() + "shared.csv";
  std::remove(path.c_str());
  ResultsFile a(path, ResultsFormat::kCsv, spec), b(path, ResultsFormat::kCsv, spec);
  EXPECT_TRUE(a.append(row_for(jobs[0], spec, 0.1)));
  EXPECT_FALSE(b.append(row_for(jobs[0], spec, 0.7)));  // a recorded it meanwhile: b writes nothing
  EXPECT_TRUE(b.has(jobs[0].key()));
  EXPECT_TRUE(b.append(row_for(jobs[1], spec, 0.2)));
  EXPECT_EQ(a.refresh(), 1u);
  EXPECT_TRUE(a.has(jobs[1].key()));
  EXPECT_EQ(a.refresh(), 0u);
  // A process killed in the middle of a line leaves it cut; the next append removes it.
  std::ofstream(path, std::ios::app)
      << format_row(row_for(jobs[2], spec, 0.3), ResultsFormat::kCsv, spec.row_layout())
             .substr(0, 25);
  EXPECT_EQ(b.refresh(), 0u);  // a cut line is not a row
  EXPECT_TRUE(b.append(row_for(jobs[3], spec, 0.4)));
  EXPECT_EQ(a.refresh(), 1u);
  const ResultsData data = read_results(path);
  EXPECT_FALSE(data.dropped_partial_line);
  ASSERT_EQ(data.rows.size(), 3u);
  EXPECT_EQ(data.rows[0].test_acc, 0.1);
  EXPECT_EQ(data.rows[2].key(), jobs[3].key());
}

TEST(SharedResultsFile, ConcurrentWritersOpenOneHeaderAndRecordEveryRunOnce) {
  const SweepSpec spec = small_spec();
  const auto jobs = spec.jobs();
  const std::string path = ::testing::TempDir() + "shared_threads.jsonl";
  for (int round = 0; round < 5; ++round) {
    std::remove(path.c_str());
    // Four writers open the new file at once and each appends every run, in orders of their own.
    std::vector<std::thread> writers;
    std::vector<int> written(4, 0);
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        ResultsFile f(path, ResultsFormat::kJsonl, spec);
        for (size_t k = 0; k < jobs.size(); ++k) {
          const auto& job = jobs[(k * 3 + static_cast<size_t>(w) * 5) % jobs.size()];
          if (f.append(row_for(job, spec, 0.25 * w))) ++written[static_cast<size_t>(w)];
        }
      });
    }
    for (auto& t : writers) t.join();
    const ResultsData data = read_results(path);  // one header, no malformed line
    std::set<std::string> keys;
    for (const auto& r : data.rows) keys.insert(r.key());
    EXPECT_EQ(keys.size(), jobs.size());
    EXPECT_EQ(data.rows.size(), jobs.size()) << "round " << round;
    EXPECT_EQ(written[0] + written[1] + written[2] + written[3], static_cast<int>(jobs.size()));
  }
}

// Numbers in a row are read whole and strictly: a field with trailing text, a sign or space
// before it, or a fraction where a whole number belongs is a malformed row, not a prefix.
TEST(ResultsFormat, RowNumbersAreReadWhole) {
  const SweepSpec spec = small_spec();
  const auto keys = spec.row_layout();
  const SweepRow row = row_for(spec.jobs()[0], spec, 0.5);  // digital: no config field
  const std::string line = format_row(row, ResultsFormat::kCsv, keys);
  ASSERT_EQ(line.rfind("digital,-1,,,0,", 0), 0u) << line;
  EXPECT_TRUE(parse_row_line(line, ResultsFormat::kCsv, keys).same_result(row));
  const auto field_set = [&](int field, const std::string& value) {
    auto fields = line;
    size_t at = 0;
    for (int f = 0; f < field; ++f) at = fields.find(',', at) + 1;
    return fields.substr(0, at) + value + fields.substr(fields.find(',', at));
  };
  const std::vector<std::pair<int, std::string>> bad = {{4, "0x1"},   {4, " 0"},    {4, "+0"},
                                                        {4, "0.5"},   {1, "-1abc"}, {5, "0.5abc"},
                                                        {8, "0x1p3"}, {8, " 0.1"},  {8, ""}};
  for (const auto& edit : bad) {  // (not a structured binding: a lambda cannot capture one)
    EXPECT_THAT(test::error_of([&] {
                  parse_row_line(field_set(edit.first, edit.second), ResultsFormat::kCsv, keys);
                }),
                HasSubstr("expected a"))
        << edit.first << " = '" << edit.second << "'";
  }
  EXPECT_TRUE(
      std::isnan(parse_row_line(field_set(5, "nan"), ResultsFormat::kCsv, keys).train_loss));
  // JSON lines: whole numbers must be JSON integers.
  const std::string json = format_row(row, ResultsFormat::kJsonl, keys);
  std::string fraction = json;
  fraction.replace(fraction.find("\"seed\":0"), 8, "\"seed\":0.5");
  EXPECT_THAT(test::error_of([&] { parse_row_line(fraction, ResultsFormat::kJsonl, keys); }),
              HasSubstr("'seed': expected a whole number, got number"));
}

// Evaluation times after programming: one column each (after the metrics, before the config),
// named by the time; the fingerprint holds them only when there are some, so that the files of
// sweeps without them keep their header.
// The energy columns round-trip in both formats (nan stays nan); a file's layout without them
// (a file from before them) reads and writes its rows without them.
TEST(ResultsFormat, EnergyColumnsRoundTrip) {
  SweepSpec spec = small_spec();
  SweepRow row = row_for(spec.jobs()[2], spec, 0.8);
  row.energy = {1.5e-3, 2.25e-9, 3e-6, 4.0, NAN};
  const RowLayout layout = spec.row_layout();
  ASSERT_TRUE(layout.energy);
  for (const auto format : {ResultsFormat::kCsv, ResultsFormat::kJsonl}) {
    const SweepRow read = parse_row_line(format_row(row, format, layout), format, layout);
    EXPECT_EQ(read.energy.train_j, 1.5e-3);
    EXPECT_EQ(read.energy.sample_j, 2.25e-9);
    EXPECT_EQ(read.energy.sample_s, 3e-6);
    EXPECT_EQ(read.energy.digital_train_j, 4.0);
    EXPECT_TRUE(std::isnan(read.energy.digital_sample_j));
  }
  spec.energy_columns = false;
  const RowLayout old_layout = spec.row_layout();
  EXPECT_FALSE(old_layout.energy);
  const std::string line = format_row(row, ResultsFormat::kCsv, old_layout);
  EXPECT_EQ(line.find("0.0015"), std::string::npos);
  EXPECT_TRUE(std::isnan(parse_row_line(line, ResultsFormat::kCsv, old_layout).energy.train_j));
  // Which columns a file has is not part of what the sweep computes.
  EXPECT_TRUE(same_sweep(spec.fingerprint(), small_spec().fingerprint()));
  EXPECT_FALSE(SweepSpec::from_fingerprint(spec.fingerprint()).energy_columns);
}

TEST(ResultsFormat, EvaluationTimesGetAColumnEach) {
  SweepSpec spec = small_spec();
  EXPECT_THAT(spec.fingerprint(), Not(HasSubstr("eval")));
  spec.base.set("type", "inference");
  spec.eval_times = {0, 1, 3600, 31536000, 0.5};
  spec.eval_repeats = 4;
  const SweepSpec back = SweepSpec::from_fingerprint(spec.fingerprint());
  EXPECT_EQ(back.eval_times, spec.eval_times);
  EXPECT_EQ(back.eval_repeats, 4);
  EXPECT_EQ(back.fingerprint(), spec.fingerprint());
  SweepSpec fewer = spec;
  fewer.eval_repeats = 3;
  EXPECT_FALSE(same_sweep(fewer.fingerprint(), spec.fingerprint()));
  const RowLayout layout = spec.row_layout();
  EXPECT_EQ(layout.eval_columns,
            (std::vector<std::string>{"test_acc_t0", "test_acc_t1", "test_acc_t3600",
                                      "test_acc_t31536000", "test_acc_t0.5"}));
  EXPECT_THAT(format_header(spec, ResultsFormat::kCsv),
              HasSubstr(",diverged_epoch,test_acc_t0,test_acc_t1,test_acc_t3600,"
                        "test_acc_t31536000,test_acc_t0.5,energy_train_j,energy_sample_j,"
                        "latency_sample_s,digital_train_j,digital_sample_j,config\n"));
  SweepRow row = row_for(spec.jobs()[2], spec, 0.8);
  row.status = "ok";
  row.test_acc_at = {0.81, 0.8, 0.75, NAN, 0.805};
  for (const auto format : {ResultsFormat::kCsv, ResultsFormat::kJsonl}) {
    const std::string line = format_row(row, format, layout);
    const SweepRow read = parse_row_line(line, format, layout);
    EXPECT_TRUE(read.same_result(row)) << line;
    EXPECT_TRUE(std::isnan(read.test_acc_at[3]));
    SweepRow moved = read;
    moved.test_acc_at[2] = 0.76;
    EXPECT_FALSE(moved.same_result(row));
  }
  EXPECT_THAT(format_row(row, ResultsFormat::kJsonl, layout),
              HasSubstr("\"test_acc_t3600\":0.75,\"test_acc_t31536000\":\"nan\""));
  // A row without its columns is malformed, in the file and when written.
  const std::string csv = format_row(row, ResultsFormat::kCsv, layout);
  EXPECT_THAT(
      error_of([&] { parse_row_line(csv, ResultsFormat::kCsv, small_spec().row_layout()); }),
      HasSubstr("expected 18 fields, got 23"));
  row.test_acc_at.pop_back();
  EXPECT_THAT(error_of([&] { format_row(row, ResultsFormat::kCsv, layout); }),
              HasSubstr("has 2 grid values and 4 evaluation times, expected 2 and 5"));
}

TEST(SweepSpec, EvaluationTimesNeedInferencePointsAndDistinctTimes) {
  SweepSpec spec = small_spec();
  spec.eval_times = {1, 3600};
  EXPECT_THAT(error_of([&] { spec.points(); }),
              HasSubstr("--eval-times: expected every point of type inference, point 0 is of "
                        "type single_device"));
  spec.base.set("type", "inference");
  EXPECT_EQ(spec.points().size(), 4u);
  spec.eval_times = {1, 3600, 1.0};
  EXPECT_THAT(error_of([&] { spec.points(); }),
              HasSubstr("--eval-times: 1 is given twice (column test_acc_t1)"));
  spec.eval_times = {-1};
  EXPECT_THAT(error_of([&] { spec.points(); }), HasSubstr("expected seconds >= 0, got -1"));
  spec.eval_times = {1};
  spec.eval_repeats = 0;
  EXPECT_THAT(error_of([&] { spec.points(); }), HasSubstr("--eval-repeats: expected at least 1"));
}

TEST(Merge, ReportsMissingDuplicatedAndConflicting) {
  const SweepSpec spec = small_spec();
  const auto jobs = spec.jobs();
  const std::string a = ::testing::TempDir() + "shard_a.csv",
                    b = ::testing::TempDir() + "shard_b.csv";
  std::remove(a.c_str());
  std::remove(b.c_str());
  {
    ResultsFile fa(a, ResultsFormat::kCsv, spec), fb(b, ResultsFormat::kCsv, spec);
    for (size_t k = 0; k < jobs.size(); ++k) {
      if (k == 5) continue;  // missing
      (k % 2 ? fa : fb).append(row_for(jobs[k], spec, 0.1 * double(k)));
    }
    fa.append(row_for(jobs[2], spec, 0.2));   // duplicate of b's
    fb.append(row_for(jobs[3], spec, 0.99));  // conflicts with a's
  }
  const std::string out = ::testing::TempDir() + "merged.csv";
  std::remove(out.c_str());  // (a new path: merge does not replace a file it was not given)
  const auto report = merge_results({a, b}, out);
  EXPECT_EQ(report.rows, static_cast<int64_t>(jobs.size()) - 1);
  EXPECT_EQ(report.missing, (std::vector<std::string>{jobs[5].key()}));
  EXPECT_EQ(report.duplicated, (std::vector<std::string>{jobs[2].key()}));
  EXPECT_EQ(report.conflicting, (std::vector<std::string>{jobs[3].key()}));
  const auto merged = read_results(out);
  ASSERT_EQ(merged.rows.size(), jobs.size() - 1);
  EXPECT_EQ(merged.rows[0].key(), jobs[0].key());  // run order
  // Shards of another sweep are refused.
  SweepSpec other = spec;
  other.repeats = 3;
  const std::string c = ::testing::TempDir() + "shard_c.csv";
  std::remove(c.c_str());
  { ResultsFile fc(c, ResultsFormat::kCsv, other); }
  EXPECT_THAT(error_of([&] { merge_results({a, c}, out); }), HasSubstr("different sweep"));
}

// A file written before a config key existed (device.model here) lacks that key in its header
// and rows: it resumes and merges with the key at its default, its runs neither redone nor
// called conflicting.
TEST(ResultsFile, AFileFromBeforeANewConfigKeyResumesAndMerges) {
  const SweepSpec spec = small_spec();
  const auto jobs = spec.jobs();
  const std::string old_file = ::testing::TempDir() + "before_model.csv";
  const std::string new_file = ::testing::TempDir() + "after_model.csv";
  std::remove(old_file.c_str());
  std::remove(new_file.c_str());
  { ResultsFile(old_file, ResultsFormat::kCsv, spec).append(row_for(jobs[2], spec, 0.5)); }
  { ResultsFile(new_file, ResultsFormat::kCsv, spec).append(row_for(jobs[2], spec, 0.5)); }
  std::stringstream text;
  text << std::ifstream(old_file).rdbuf();
  std::string old_text = text.str();
  int removed = 0;
  for (const std::string key :
       {"\"model\":\"constant_step\",", "\"\"model\"\":\"\"constant_step\"\","}) {
    for (size_t at = old_text.find(key); at != std::string::npos; at = old_text.find(key)) {
      old_text.erase(at, key.size());
      ++removed;
    }
  }
  ASSERT_EQ(removed, 2) << "the key in the header and in the row";
  std::ofstream(old_file, std::ios::trunc) << old_text;
  {
    ResultsFile f(old_file, ResultsFormat::kCsv, spec);
    EXPECT_TRUE(f.has(jobs[2].key()));
    EXPECT_FALSE(f.append(row_for(jobs[2], spec, 0.5)));
    EXPECT_TRUE(f.append(row_for(jobs[3], spec, 0.6)));
  }
  const std::string out = ::testing::TempDir() + "merged_versions.csv";
  std::remove(out.c_str());
  const auto report = merge_results({old_file, new_file}, out);
  EXPECT_EQ(report.rows, 2);
  EXPECT_EQ(report.duplicated, (std::vector<std::string>{jobs[2].key()}));
  EXPECT_TRUE(report.conflicting.empty());
}

}  // namespace
}  // namespace analog::sweep
