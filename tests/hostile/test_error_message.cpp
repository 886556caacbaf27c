// The one path every failure takes to the user: one line, of bounded length, whatever the input
// it quotes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include <c10/util/Exception.h>

#include "analog/error_message.h"
#include "analog/quoted.h"

namespace analog {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(OneLine, ControlCharactersBecomeEscapes) {
  EXPECT_EQ(one_line("a\nb\r\tc"), "a\\nb\\r\\tc");
  EXPECT_EQ(one_line(std::string("x\x01y\x7fz\0w", 7)), "x\\x01y\\x7fz\\x00w");
  EXPECT_EQ(one_line("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 is left as it is
}

TEST(OneLine, LongTextIsCutAndSaysHowLongItWas) {
  const std::string huge(10'000'000, 'v');
  const std::string cut = one_line(huge);
  EXPECT_EQ(cut, std::string(1500, 'v') + "... (10000000 bytes)");
  EXPECT_EQ(one_line(std::string(2000, 'v')), std::string(2000, 'v'));  // at the limit: whole
  // Escapes count toward the limit: 1000 newlines are 2000 bytes once escaped.
  EXPECT_EQ(one_line(std::string(1000, '\n')).size(), 2000u);
  EXPECT_THAT(one_line(std::string(1001, '\n')), HasSubstr("... (1001 bytes)"));
  EXPECT_EQ(shortened(std::string(61, 'k')), std::string(40, 'k') + "... (61 bytes)");
  EXPECT_EQ(quoted("a\nb"), "'a\\nb'");
}

TEST(ErrorMessage, IsOneLineWithoutTheBacktrace) {
  try {
    TORCH_CHECK(false, "config: invalid JSON: last read: '{\n\"x'");
  } catch (const c10::Error& e) {
    const std::string m = error_message(e);
    EXPECT_EQ(m, "config: invalid JSON: last read: '{\\n\"x'");
    EXPECT_THAT(std::string(e.what()), HasSubstr("\n"));  // what() has the backtrace
  }
  const std::runtime_error other(std::string(5000, 'e') + "\nsecond line");
  EXPECT_THAT(error_message(other), Not(HasSubstr("\n")));
  EXPECT_LT(error_message(other).size(), 1600u);
}

}  // namespace
}  // namespace analog
