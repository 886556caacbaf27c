// Input files must be regular files.
#include "io/regular_file.h"

#include <sys/stat.h>

#include <c10/util/Exception.h>

namespace analog {

void check_regular_file(const std::string& path, const std::string& what) {
  struct stat st {};
  TORCH_CHECK(::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode), what, ": ", path,
              " is not a regular file (a directory, FIFO or device)");
}

}  // namespace analog
