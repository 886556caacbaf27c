// Limits on input read from files: regular files only, JSON depth and duplicate keys.
#pragma once
#include <string>

namespace analog {

/// An error starting with `what` unless `path` is missing (the caller's open reports that) or a
/// regular file (or a symlink to one): a directory gives no text, a FIFO would block the read.
void check_regular_file(const std::string& path, const std::string& what);

/// Deepest nesting of arrays and objects that any JSON input may have (configs nest 2 deep,
/// results rows 3).
inline constexpr int kMaxJsonDepth = 64;

/// Checks JSON text before it is parsed: nesting deeper than kMaxJsonDepth, or an object that
/// names a key twice, is an error starting with `what`. Malformed text passes (the parser then
/// reports it); the scan itself uses constant stack space.
/// NB: keys are compared as written, so "a" and "\u0061" count as different keys.
void check_json_text(const std::string& text, const std::string& what);

}  // namespace analog
