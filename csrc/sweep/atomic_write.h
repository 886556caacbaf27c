// Writing an output file whole or not at all.
#pragma once
#include <string>

namespace analog::sweep {

/// Writes `text` to `path` through a temporary file in the same directory, flushed, fsynced and
/// renamed over `path`: a reader sees the old file or the whole new one, and a failure (a full
/// disk, no permission) leaves no partial or temporary file. An existing `path` that is not a
/// regular file (a symlink, FIFO, device or directory) is refused, never replaced. Errors start
/// with `what`.
void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what);

/// Whether `a` and `b` name the same existing file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

}  // namespace analog::sweep
