// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/fd.hpp"

#include <unordered_map>
#include <stdexcept>
#include <mutex>
#include <atomic>
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

UniqueFd UniqueFd::create_new(const std::string& path, int flags, unsigned mode) {
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) throw_errno("unlink " + path);
  flags &= ~O_TRUNC;
  int fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("create " + path);
  return UniqueFd(fd);
}

UniqueFd UniqueFd::try_open(const std::string& path, int flags, int& err, unsigned mode) noexcept {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  err = fd < 0 ? -errno : 0;
  return UniqueFd(fd);
}

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    forget_fd_window(fd_);
    ::close(fd_);
  }
  fd_ = fd;
}

namespace {
struct Window {
  uint64_t base, size;
};
std::mutex g_windows_mu;
std::unordered_map<int, Window> g_windows;
std::atomic<size_t> g_window_count{0};
}  // namespace

void register_fd_window(int fd, uint64_t base, uint64_t size) {
  std::lock_guard lk(g_windows_mu);
  g_windows[fd] = {base, size};
  g_window_count.store(g_windows.size());
}

void forget_fd_window(int fd) noexcept {
  if (g_window_count.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lk(g_windows_mu);
  g_windows.erase(fd);
  g_window_count.store(g_windows.size());
}

bool any_fd_windows() noexcept { return g_window_count.load(std::memory_order_relaxed) != 0; }

uint64_t fd_window_offset(int fd, uint64_t offset, uint64_t len) {
  if (!any_fd_windows()) return offset;
  std::lock_guard lk(g_windows_mu);
  auto it = g_windows.find(fd);
  if (it == g_windows.end()) return offset;
  if (offset + len > it->second.size || offset + len < offset)
    throw std::out_of_range("I/O at offset " + std::to_string(offset) + " length " + std::to_string(len) +
                            " leaves its fixture's region on the device (" + std::to_string(it->second.size) +
                            " bytes)");
  return it->second.base + offset;
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
