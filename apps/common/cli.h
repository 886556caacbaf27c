// Command-line parsing shared by the apps: strict number validators and one error path.
#pragma once
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "analog/quoted.h"

namespace analog::apps {

/// A whole number written plainly (decimal digits, no sign, no leading zero, no 0x): `lo` to
/// `hi`. NB: CLI11 itself reads "010" as octal and "0x10" as hex; this rejects both first.
inline std::string whole_number_error(const std::string& text, int64_t lo, int64_t hi) {
  const bool digits = !text.empty() && text.size() <= 19 &&
                      text.find_first_not_of("0123456789") == std::string::npos &&
                      (text == "0" || text[0] != '0');
  if (digits) {
    const long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (v >= lo && v <= hi) return "";
  }
  return "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
         ", got " + analog::quoted(text);
}

inline CLI::Validator whole_number(int64_t lo, int64_t hi) {
  return CLI::Validator([lo, hi](std::string& text) { return whole_number_error(text, lo, hi); },
                        "INT " + std::to_string(lo) + " to " + std::to_string(hi), "whole_number");
}

/// The items of a comma-separated list, empty ones included ("8,,4" has three).
inline std::vector<std::string> comma_items(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  for (size_t comma; (comma = text.find(',', start)) != std::string::npos; start = comma + 1)
    items.push_back(text.substr(start, comma - start));
  items.push_back(text.substr(start));
  return items;
}

/// Comma-separated whole numbers, each from `lo` to `hi`; an empty item is an error.
/// NB: CLI11's own list splitting (->delimiter) drops empty items, so that "256,,128" would pass.
inline CLI::Validator whole_number_list(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        for (const auto& item : comma_items(text)) {
          const std::string error = whole_number_error(item, lo, hi);
          if (!error.empty()) return error + " in " + analog::quoted(text);
        }
        return "";
      },
      "INT,... " + std::to_string(lo) + " to " + std::to_string(hi), "whole_number_list");
}

/// The numbers of a list whole_number_list accepted.
inline std::vector<int64_t> whole_numbers(const std::string& text) {
  std::vector<int64_t> numbers;
  for (const auto& item : comma_items(text)) numbers.push_back(std::stoll(item));
  return numbers;
}

/// A torch device this program can be asked for: cpu, cuda or cuda:N.
inline CLI::Validator device_name() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text == "cpu" || text == "cuda") return "";
        if (text.rfind("cuda:", 0) == 0 && whole_number_error(text.substr(5), 0, 1023).empty())
          return "";
        return "expected cpu, cuda or cuda:N, got " + analog::quoted(text);
      },
      "DEVICE", "device_name");
}

/// "" when `text` is a finite decimal number (no inf, nan or hex) > 0 (`zero_ok`: >= 0), else
/// what was expected.
inline std::string decimal_number_error(const std::string& text, bool zero_ok) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  const bool plain = !text.empty() && text.find_first_of("xX") == std::string::npos;
  // (errno is ERANGE below the smallest normal double as well as above the largest)
  if (plain && errno == 0 && end == text.c_str() + text.size() && std::isfinite(v) &&
      (v > 0 || (zero_ok && v == 0)))
    return "";
  return std::string("expected a finite number ") + (zero_ok ? ">= 0 (0 or " : "> 0 (") +
         "from 2.3e-308 to 1.7e308), got " + analog::quoted(text);
}

/// A finite decimal number > 0 (no inf, nan or hex).
inline CLI::Validator positive_number() {
  return CLI::Validator([](std::string& text) { return decimal_number_error(text, false); },
                        "NUMBER > 0", "positive_number");
}

/// Comma-separated finite decimal numbers >= 0; an empty item is an error.
inline CLI::Validator non_negative_number_list() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        for (const auto& item : comma_items(text)) {
          const std::string error = decimal_number_error(item, true);
          if (!error.empty()) return error + " in " + analog::quoted(text);
        }
        return "";
      },
      "NUMBER,... >= 0", "non_negative_number_list");
}

/// The numbers of a list non_negative_number_list accepted (none for "").
inline std::vector<double> decimal_numbers(const std::string& text) {
  std::vector<double> numbers;
  if (text.empty()) return numbers;
  for (const auto& item : comma_items(text)) numbers.push_back(std::strtod(item.c_str(), nullptr));
  return numbers;
}

/// Parses the command line. Returns -1 when the program goes on; otherwise the exit code: 0
/// after --help, 2 for any error, which is printed as one line `name: error: ...`.
/// NB: CLI11's own exit codes (104-114) are never returned: every failure is a usage error.
inline int parse_command_line(CLI::App& app, int argc, char** argv, const char* name) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help: prints it, exit code 0
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (auto& c : what) c = c == '\n' ? ' ' : c;
    std::fprintf(stderr, "%s: error: %s\n", name, what.c_str());
    return 2;
  }
}

/// `code`, or 2 when what the program printed could not all be written to stdout (a full disk, a
/// closed pipe), which one line on stderr then says. Programs return through it.
inline int checked_exit(const char* name, int code) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::fprintf(stderr, "%s: error: writing the output (stdout) failed: %s\n", name,
                 std::strerror(errno));
    return 2;
  }
  return code;
}

}  // namespace analog::apps
