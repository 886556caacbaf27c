// The checks every reader of a named input file makes, and reading a text file whole.
#pragma once
#include <cstddef>
#include <string>

namespace analog {

/// An error starting with `what` unless `path` is missing (the caller's open reports that) or a
/// regular file (or a symlink to one): a directory gives no text, a FIFO would block the read.
void check_regular_file(const std::string& path, const std::string& what);

/// The whole text of the regular file `path`, which must exist and hold at most `max_bytes`
/// (configs and grids are kilobytes: a huge file is a mistake, not something to load). Errors
/// start with `what` and name the path.
std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes);

}  // namespace analog
