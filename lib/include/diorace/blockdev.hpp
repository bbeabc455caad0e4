// SPDX-License-Identifier: GPL-2.0-or-later
// Move-only owners of the block-layer resources a case can create: a loop
// device over a file diorace made (direct I/O on), and a mount. Both are
// undone by their destructors, so a failure or an exception leaves nothing.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "diorace/state.hpp"

namespace diorace {

class LoopDevice {
 public:
  LoopDevice() noexcept = default;
  // Attaches `backing` to a free loop device (LOOP_CTL_GET_FREE +
  // LOOP_CONFIGURE, with LO_FLAGS_DIRECT_IO when asked). Throws SkipError
  // when loop devices are unavailable here, std::system_error otherwise.
  [[nodiscard]] static LoopDevice attach(const std::string& backing, bool direct_io = true);
  LoopDevice(LoopDevice&& o) noexcept
      : path_(std::exchange(o.path_, {})), fd_(std::exchange(o.fd_, -1)), record_(std::move(o.record_)) {}
  LoopDevice& operator=(LoopDevice&& o) noexcept {
    if (this != &o) {
      detach();
      path_ = std::exchange(o.path_, {});
      fd_ = std::exchange(o.fd_, -1);
      record_ = std::move(o.record_);
    }
    return *this;
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  ~LoopDevice() { detach(); }

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  void detach() noexcept;

 private:
  void remember(int backing_fd);
  std::string path_;
  int fd_ = -1;
  ResourceRecord record_;  // in the state directory while attached (a killed run's is undone by the next)
};

// In a diorace VM guest, loads the modules of filesystem `fstype` that its
// init left out (listed in /modules/fs.TYPE) unless /proc/filesystems has
// it; elsewhere does nothing. Mount::make calls it. Returns what failed to
// load ("" when nothing did), for the caller's message.
std::string load_fs_modules(const std::string& fstype);

class Mount {
 public:
  Mount() noexcept = default;
  // mount(2); throws std::system_error naming device, directory and type.
  [[nodiscard]] static Mount make(const std::string& device, const std::string& dir, const std::string& fstype,
                                  const std::string& options = "");
  Mount(Mount&& o) noexcept : dir_(std::exchange(o.dir_, {})) {}
  Mount& operator=(Mount&& o) noexcept {
    if (this != &o) {
      unmount();
      dir_ = std::exchange(o.dir_, {});
    }
    return *this;
  }
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;
  ~Mount() { unmount(); }

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
  // Unmounts, retrying while busy, then detaching lazily as a last resort.
  void unmount() noexcept;

 private:
  std::string dir_;
};

// What diorace may have left under a directory after an abort: mounts on or
// under it, loop devices backed by files in it ("mount /x/y", "loop3 over
// /x/img").
std::vector<std::string> leftovers_under(const std::string& dir);

// Splits options as a shell would split words: blanks separate, single and
// double quotes group (MKFS_OPTIONS = -L "my label"), a backslash escapes.
// Throws UsageError on an unbalanced quote.
std::vector<std::string> split_words(const std::string& text);

// Makes a filesystem (mkfs.ext4 -F / mkfs.xfs -f) on a device; throws
// SkipError when the tool is missing, SetupError with its output on failure.
void make_filesystem(const std::string& device, const std::string& fstype, const std::string& extra_options = "");

}  // namespace diorace
