#include "diorace/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "diorace/error.hpp"

namespace diorace {

UniqueFd UniqueFd::open(const std::string& path, int flags, unsigned mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("open " + path);
  return UniqueFd(fd);
}

UniqueFd UniqueFd::try_open(const std::string& path, int flags, int& err, unsigned mode) noexcept {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  err = fd < 0 ? -errno : 0;
  return UniqueFd(fd);
}

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void write_all(int fd, const void* buf, size_t len, const std::string& what) {
  auto p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(what);
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
}

void pwrite_all(int fd, const void* buf, size_t len, long long off, const std::string& what) {
  auto p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(what);
    }
    if (n == 0) throw_errno(EIO, what + ": short write");
    p += n;
    off += n;
    len -= static_cast<size_t>(n);
  }
}

bool try_read_file(const std::string& path, std::string& out) noexcept {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

std::string read_file(const std::string& path) {
  std::string out;
  if (!try_read_file(path, out)) throw_errno("read " + path);
  return out;
}

void write_file(const std::string& path, const std::string& data) {
  auto fd = UniqueFd::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  write_all(fd.get(), data.data(), data.size(), "write " + path);
}

}  // namespace diorace
