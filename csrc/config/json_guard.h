// Limits on JSON read from files: nesting depth and duplicate keys.
#pragma once
#include <cstddef>
#include <string>

namespace analog {

/// The largest config or grid file read (they are kilobytes).
inline constexpr size_t kMaxJsonFileBytes = size_t{16} << 20;

/// Deepest nesting of arrays and objects that any JSON input may have (configs nest 2 deep,
/// results rows 3).
inline constexpr int kMaxJsonDepth = 64;

/// Checks JSON text before it is parsed: nesting deeper than kMaxJsonDepth, or an object that
/// names a key twice, is an error starting with `what`. Malformed text passes (the parser then
/// reports it); the scan itself uses constant stack space.
/// NB: keys are compared as written, so "a" and "\u0061" count as different keys.
void check_json_text(const std::string& text, const std::string& what);

}  // namespace analog
