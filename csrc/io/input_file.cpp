// Input files: regular files only, read whole within a size limit.
#include "io/input_file.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include <c10/util/Exception.h>

namespace analog {

void check_regular_file(const std::string& path, const std::string& what) {
  struct stat st {};
  TORCH_CHECK(::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode), what, ": ", path,
              " is not a regular file (a directory, FIFO or device)");
}

std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes) {
  check_regular_file(path, what);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  TORCH_CHECK(in.good(), what, ": cannot open '", path, "'");
  const std::streamoff size = in.tellg();
  TORCH_CHECK(size >= 0, what, ": cannot tell the size of '", path, "'");
  TORCH_CHECK(static_cast<size_t>(size) <= max_bytes, what, ": '", path, "' is ", size,
              " bytes, more than the ", max_bytes, " such a file may have");
  std::string text(static_cast<size_t>(size), '\0');
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  TORCH_CHECK(in.good() || text.empty(), what, ": cannot read '", path, "'");
  return text;
}

}  // namespace analog
