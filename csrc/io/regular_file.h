// The one check every reader of a named input file makes before it opens the file.
#pragma once
#include <string>

namespace analog {

/// An error starting with `what` unless `path` is missing (the caller's open reports that) or a
/// regular file (or a symlink to one): a directory gives no text, a FIFO would block the read.
void check_regular_file(const std::string& path, const std::string& what);

}  // namespace analog
