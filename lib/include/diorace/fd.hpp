// SPDX-License-Identifier: GPL-2.0-or-later
// Move-only owner of a file descriptor.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

namespace diorace {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  // Opens or throws std::system_error naming the path.
  [[nodiscard]] static UniqueFd open(const std::string& path, int flags, unsigned mode = 0644);
  // A new file of diorace's own at path (a case file, an image): whatever
  // non-directory entry is there (a stale file, a planted symbolic link) is
  // unlinked, never followed, then the file is created O_CREAT|O_EXCL|
  // O_NOFOLLOW. So nothing outside diorace's own names is ever written.
  [[nodiscard]] static UniqueFd create_new(const std::string& path, int flags, unsigned mode = 0644);
  // Opens or returns -errno in err; for callers that turn errors into SKIP.
  [[nodiscard]] static UniqueFd try_open(const std::string& path, int flags, int& err, unsigned mode = 0644) noexcept;

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// Windows: an fd that addresses a region of a block device (a fixture on
// --device) is registered with the region's base and size; the engine layer
// adds the base to every request's offset and refuses requests outside the
// window, so a case addresses its fixture from 0 whatever the target, and can
// never touch the rest of a real device. UniqueFd forgets a window on close.
void register_fd_window(int fd, uint64_t base, uint64_t size);
void forget_fd_window(int fd) noexcept;
// Translates [offset, offset+len) through fd's window (identity when none);
// throws std::out_of_range when the request leaves the window.
uint64_t fd_window_offset(int fd, uint64_t offset, uint64_t len);
bool any_fd_windows() noexcept;

// Whole-buffer helpers that retry short transfers and EINTR; throw on error.
void write_all(int fd, const void* buf, size_t len, const std::string& what);
void pwrite_all(int fd, const void* buf, size_t len, long long off, const std::string& what);
std::string read_file(const std::string& path);  // throws on open failure
bool try_read_file(const std::string& path, std::string& out) noexcept;
void write_file(const std::string& path, const std::string& data);

}  // namespace diorace
