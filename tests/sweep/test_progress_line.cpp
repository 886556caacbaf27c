// The sweep's progress line: durations, and when a line is written.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "analog/sweep/progress_line.h"
#include "support/test_support.h"

namespace analog::sweep {
namespace {

TEST(ProgressLine, DurationsInSecondsMinutesAndHours) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.9), "59s");
  EXPECT_EQ(format_duration(60), "1m00s");
  EXPECT_EQ(format_duration(3599), "59m59s");
  EXPECT_EQ(format_duration(3600), "1h00m");
  EXPECT_EQ(format_duration(7325), "2h02m");
}

/// What a ProgressLine wrote to a temporary file.
std::string written(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
  return text;
}

TEST(ProgressLine, PlainOutputWritesTheLastLineOnceAndNotEveryUpdate) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressLine line(3, f, /*tty=*/false);
  line.show(1, "2 running", 0);  // within 10 s of the start: nothing
  EXPECT_EQ(written(f), "");
  line.show(3, "0 running", 1);
  line.show(3, "0 running", 1);  // every run done was shown already
  line.finish();
  const std::string text = written(f);
  EXPECT_EQ(text.rfind("[sweep] 3/3 done (100%), 0 running, 1 diverged, elapsed 0s, ETA 0s\n", 0),
            0u)
      << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << text;  // one line
  std::fclose(f);
}

TEST(ProgressLine, TerminalOutputRewritesOneLineInPlace) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressLine line(2, f, /*tty=*/true);
  line.show(0, "2 running", 0);
  line.show(1, "1 running", 0);
  line.finish();
  const std::string text = written(f);
  EXPECT_EQ(text.size(), 2 * (1 + 90) + 1) << text;  // two padded rewrites, then the newline
  EXPECT_THAT(text, HasSubstr("\r[sweep] 0/2 done (0%), 2 running, 0 diverged, elapsed 0s, ETA ?"));
  EXPECT_THAT(text, HasSubstr("\r[sweep] 1/2 done (50%), 1 running, 0 diverged"));
  EXPECT_EQ(text.back(), '\n');
  std::fclose(f);
}

TEST(ProgressLine, CountsThePartOfTheRunningRunsThatIsDone) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressLine line(8, f, /*tty=*/true);
  line.show(0, "8 running", 0, 2.0);  // one population of 8 points, a quarter trained
  line.show(2, "6 running", 0, 1.5);  // 2 written, the other 6 a quarter trained
  line.show(7, "1 running", 0, 5.0);  // a stale partial figure: never past the total
  line.finish();
  const std::string text = written(f);
  EXPECT_THAT(text, HasSubstr("\r[sweep] 0/8 done (25%), 8 running, 0 diverged"));
  EXPECT_THAT(text, HasSubstr("\r[sweep] 2/8 done (43%), 6 running"));
  EXPECT_THAT(text, HasSubstr("\r[sweep] 7/8 done (100%), 1 running"));
  // With work done the ETA is a duration, not "?" (its value depends on the clock).
  EXPECT_THAT(text, Not(HasSubstr("ETA ?")));
  std::fclose(f);
}

TEST(ProgressLine, ANoteIsALineOfItsOwn) {
  for (const bool tty : {false, true}) {
    std::FILE* f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    ProgressLine line(2, f, tty);
    line.show(0, "2 running", 0);
    line.note("a population of 2 points does not fit in memory");
    line.show(1, "1 running", 0);
    line.finish();
    const std::string text = written(f);
    // On a terminal the note overwrites the progress line and ends it; plain output has no
    // progress line within 10 s, so the note and the last line are all there is.
    const std::string note =
        tty ? "\ra population of 2 points does not fit in memory" + std::string(90 - 47, ' ') + "\n"
            : "a population of 2 points does not fit in memory\n";
    EXPECT_THAT(text, HasSubstr(note)) << text;
    if (!tty) EXPECT_EQ(text.rfind(note, 0), 0u) << text;
    std::fclose(f);
  }
}

}  // namespace
}  // namespace analog::sweep
