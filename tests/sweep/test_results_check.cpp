// RowChecker and check_rows: the rows resume and merge trust, against the sweep's own runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "analog/sweep/results_check.h"
#include "support/test_support.h"

namespace analog::sweep {
namespace {

using ::testing::HasSubstr;

SweepSpec spec_of_two_axes() {
  SweepSpec s;
  s.axes = {parse_axis("forward.out_noise=0,0.5"), parse_axis("update.desired_bl=1,7")};
  s.repeats = 2;
  s.include_digital = true;
  s.train.epochs = 2;
  s.train.seed = 10;
  return s;
}

/// The row the sweep writes for `job`, with status ok.
SweepRow row_of(const SweepJob& job, const SweepSpec& spec) {
  SweepRow r;
  r.kind = job.digital ? "digital" : "analog";
  r.point = job.point;
  r.seed = job.seed;
  r.values =
      job.digital ? std::vector<std::string>(spec.axes.size(), "") : spec.point(job.point).values;
  r.config = job.digital ? "" : spec.point(job.point).config.to_json();
  r.train_loss = 0.3;
  r.test_loss = 0.4;
  r.train_acc = 0.9;
  r.test_acc = 0.8;
  return r;
}

std::string error_checking(const SweepSpec& spec, const SweepRow& row) {
  RowChecker checker(spec);
  return test::error_of([&] { checker.check(row); });
}

TEST(RowChecker, EveryRunOfTheSweepPasses) {
  const SweepSpec spec = spec_of_two_axes();
  RowChecker checker(spec);
  for (const auto& job : spec.jobs())
    EXPECT_NO_THROW(checker.check(row_of(job, spec))) << job.key();
  // A diverged run: its epoch within the run, accuracies of its last finished epoch or none.
  SweepRow diverged = row_of(spec.jobs()[3], spec);
  diverged.status = "diverged";
  diverged.diverged_epoch = 2;
  diverged.train_loss = NAN;
  diverged.test_acc = NAN;
  EXPECT_NO_THROW(checker.check(diverged));
}

// With evaluation times: an analog run that trained has an accuracy per time, the others nan.
TEST(RowChecker, AccuraciesAfterProgrammingAreCheckedToo) {
  SweepSpec spec = spec_of_two_axes();
  spec.base.set("type", "inference");
  spec.eval_times = {1, 3600};
  SweepRow analog = row_of(spec.jobs()[2], spec);
  analog.test_acc_at = {0.8, 0.75};
  EXPECT_EQ(error_checking(spec, analog), "");
  analog.test_acc_at[1] = 1.5;
  EXPECT_THAT(error_checking(spec, analog), HasSubstr("an accuracy after programming outside"));
  analog.test_acc_at[1] = NAN;
  EXPECT_THAT(error_checking(spec, analog), HasSubstr("an accuracy after programming outside"));
  SweepRow digital = row_of(spec.jobs()[0], spec);
  digital.test_acc_at = {NAN, NAN};
  EXPECT_EQ(error_checking(spec, digital), "");
  digital.test_acc_at[0] = 0.9;
  EXPECT_THAT(error_checking(spec, digital),
              HasSubstr("expected nan after programming for a digital or diverged run"));
}

TEST(RowChecker, RowsThatAreNotRunsOfTheSweepNameWhatIsWrong) {
  const SweepSpec spec = spec_of_two_axes();
  const SweepRow good = row_of(spec.jobs()[3], spec);  // analog point 1, seed 10
  ASSERT_EQ(good.point, 1);
  const auto edited = [&](auto change) {
    SweepRow r = good;
    change(r);
    return error_checking(spec, r);
  };
  EXPECT_THAT(edited([](SweepRow& r) { r.point = 4; }),
              HasSubstr("expected a point 0 to 3, got 4"));
  EXPECT_THAT(edited([](SweepRow& r) { r.point = -3; }), HasSubstr("got -3"));
  EXPECT_THAT(edited([](SweepRow& r) { r.values[1] = "3"; }),
              HasSubstr("grid values are not point 1's"));
  EXPECT_THAT(edited([&](SweepRow& r) { r.config = spec.point(0).config.to_json(); }),
              HasSubstr("config is not point 1's"));
  EXPECT_THAT(edited([](SweepRow& r) { r.seed = 12; }),
              HasSubstr("seed 12 is not one of the sweep's (10 to 11)"));
  EXPECT_THAT(edited([](SweepRow& r) { r.seed = 9; }), HasSubstr("seed 9"));
  EXPECT_THAT(edited([](SweepRow& r) { r.kind = "hybrid"; }),
              HasSubstr("expected kind analog or digital"));
  EXPECT_THAT(edited([](SweepRow& r) { r.test_acc = NAN; }), HasSubstr("accuracy outside [0, 1]"));
  EXPECT_THAT(edited([](SweepRow& r) { r.train_acc = -0.1; }),
              HasSubstr("accuracy outside [0, 1]"));
  EXPECT_THAT(edited([](SweepRow& r) { r.test_loss = INFINITY; }), HasSubstr("non-finite loss"));
  EXPECT_THAT(edited([](SweepRow& r) { r.diverged_epoch = 1; }),
              HasSubstr("status ok with a divergence epoch"));
  EXPECT_THAT(edited([](SweepRow& r) { r.status = "fine"; }),
              HasSubstr("expected status ok or diverged"));
  EXPECT_THAT(edited([](SweepRow& r) {
                r.status = "diverged";
                r.diverged_epoch = 3;
              }),
              HasSubstr("expected a divergence epoch 1 to 2, got 3"));
  EXPECT_THAT(edited([](SweepRow& r) { r.train_time_sec = -1; }), HasSubstr("wall time"));
  EXPECT_THAT(edited([](SweepRow& r) { r.train_time_sec = NAN; }), HasSubstr("wall time"));
  // Digital rows: only in a sweep that has them, with no point, values or config.
  const SweepRow digital = row_of(spec.jobs()[0], spec);
  ASSERT_EQ(digital.kind, "digital");
  SweepSpec without = spec;
  without.include_digital = false;
  EXPECT_THAT(error_checking(without, digital), HasSubstr("the sweep has no digital runs"));
  SweepRow d = digital;
  d.point = 0;
  EXPECT_THAT(error_checking(spec, d), HasSubstr("expected point -1"));
  d = digital;
  d.values[0] = "0.5";
  EXPECT_THAT(error_checking(spec, d), HasSubstr("no grid values"));
  d = digital;
  d.config = good.config;
  EXPECT_THAT(error_checking(spec, d), HasSubstr("no config"));
}

// A second row for a point met before is checked as fully as the first (the point is cached).
TEST(RowChecker, ARepeatedPointIsCheckedAgain) {
  const SweepSpec spec = spec_of_two_axes();
  RowChecker checker(spec);
  SweepRow first = row_of(spec.jobs()[3], spec), second = row_of(spec.jobs()[7], spec);
  ASSERT_EQ(first.point, second.point);
  checker.check(first);
  second.values[0] = "0.5";
  EXPECT_THAT(test::error_of([&] { checker.check(second); }), HasSubstr("grid values"));
}

TEST(CheckRows, NamesTheLineAndRefusesARunRecordedTwice) {
  const SweepSpec spec = spec_of_two_axes();
  const auto jobs = spec.jobs();
  ResultsData data;
  data.first_row_line = 3;
  for (size_t k = 0; k < 4; ++k) data.rows.push_back(row_of(jobs[k], spec));
  EXPECT_NO_THROW(check_rows(data, spec, "r.csv"));
  data.rows.push_back(data.rows[1]);
  EXPECT_THAT(test::error_of([&] { check_rows(data, spec, "r.csv"); }),
              HasSubstr("r.csv: line 7: run digital/11 is recorded twice"));
  data.rows.pop_back();
  data.rows[2].test_acc = 2;
  EXPECT_THAT(
      test::error_of([&] { check_rows(data, spec, "r.csv"); }),
      HasSubstr("r.csv: line 5: run analog/0/10: status ok with an accuracy outside [0, 1]"));
}

// grid_point gives expand_grid's points one at a time, and refuses an index outside the grid.
TEST(GridPoint, EqualsTheExpandedPointAndChecksItsIndex) {
  const SweepSpec spec = spec_of_two_axes();
  const auto points = spec.points();
  for (const auto& p : points) {
    const GridPoint one = spec.point(p.index);
    EXPECT_EQ(one.values, p.values);
    EXPECT_EQ(one.config, p.config);
  }
  EXPECT_THAT(test::error_of([&] { spec.point(4); }),
              HasSubstr("no point 4 in a grid of 4 points"));
  EXPECT_THAT(test::error_of([&] { spec.point(-1); }), HasSubstr("no point -1"));
}

}  // namespace
}  // namespace analog::sweep
