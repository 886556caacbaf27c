// write_file_atomically: temporary file, fsync, rename.
#include "sweep/atomic_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <c10/util/Exception.h>

namespace analog::sweep {

void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    TORCH_CHECK(S_ISREG(st.st_mode), what, ": ", path,
                " exists and is not a regular file (a symlink, FIFO, device or directory); "
                "expected a new path or a regular file");
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string pattern = dir + "." + base + ".XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  TORCH_CHECK(fd >= 0, what, ": cannot create a file next to ", path, ": ", std::strerror(errno));
  const std::string tmp(name.data());
  const auto fail = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    TORCH_CHECK(false, what, ": writing ", path, " failed (", step, "): ", std::strerror(err));
  };
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  // mkstemp makes the file 0600; give it the mode a plain new file gets (0666 less the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0) fail("chmod");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    TORCH_CHECK(false, what, ": writing ", path, " failed (close): ", std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    TORCH_CHECK(false, what, ": cannot rename onto ", path, ": ", std::strerror(err));
  }
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

}  // namespace analog::sweep
