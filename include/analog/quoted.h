// Text shown in an error message: on one line, cut to a readable length.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

namespace analog {

/// `text` with its control characters written as escapes (\n, \r, \t, \xNN), so that it prints
/// on one line; when that is longer than `max_bytes`, its first `keep` bytes and how long `text`
/// was.
inline std::string one_line(const std::string& text, size_t max_bytes = 2000, size_t keep = 1500) {
  std::string out;
  for (size_t k = 0; k < text.size() && out.size() <= max_bytes; ++k) {
    const auto c = static_cast<unsigned char>(text[k]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (out.size() <= max_bytes) return out;
  return out.substr(0, keep) + "... (" + std::to_string(text.size()) + " bytes)";
}

/// one_line(`text`) cut at 60 bytes (to its first 40), so that a huge bad value does not flood
/// the terminal.
inline std::string shortened(const std::string& text) { return one_line(text, 60, 40); }

/// shortened(`text`) in single quotes.
inline std::string quoted(const std::string& text) { return "'" + shortened(text) + "'"; }

}  // namespace analog
