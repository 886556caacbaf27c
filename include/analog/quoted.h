// A value shown in an error message, cut to a readable length.
#pragma once
#include <string>

namespace analog {

/// `text` as is when it has at most 60 bytes, else its first 40 and how long it was, so that a
/// huge bad value does not flood the terminal.
inline std::string shortened(const std::string& text) {
  if (text.size() <= 60) return text;
  return text.substr(0, 40) + "... (" + std::to_string(text.size()) + " bytes)";
}

/// shortened(`text`) in single quotes.
inline std::string quoted(const std::string& text) { return "'" + shortened(text) + "'"; }

}  // namespace analog
