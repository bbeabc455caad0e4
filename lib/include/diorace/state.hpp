// SPDX-License-Identifier: GPL-2.0-or-later
// diorace's state directory (/run/diorace, or $DIORACE_STATE_DIR): locks on
// what a run works on, and the registry of kernel resources a run sets up
// outside its own process (loop devices, mounts, frozen filesystems), so that
// the next run can undo what a killed one left.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "diorace/fd.hpp"

namespace diorace {

// The state directory, created (mode 0700) when missing. /run is a tmpfs:
// like the loop devices and mounts it records, it does not survive a reboot.
std::string state_dir();

// An exclusive lock on what a run works on (a --dir, a --device, a
// --scratch-device), held for the run's whole life: a second run on the same
// directory or device would overwrite the first one's files and call the
// damage corruption. Keyed by device and inode, so every name of a directory
// or device shares one lock. A POSIX record lock: the kernel drops it when
// the holder dies, also by SIGKILL, and tells a second run the holder's pid.
class RunLock {
 public:
  RunLock() = default;
  // `what` names the target in messages ("--dir /mnt/x"). Throws UsageError
  // naming the holder's pid when another run holds it, unless `wait`, then
  // waits (saying so once on stderr).
  [[nodiscard]] static RunLock acquire(const std::string& path, const std::string& what, bool wait);
  // The same for a name of diorace's own ("run-UID": a run in progress, which
  // `results delete` must not remove).
  [[nodiscard]] static RunLock acquire_named(const std::string& key, const std::string& what, bool wait);
  [[nodiscard]] bool held() const noexcept { return static_cast<bool>(fd_); }
  RunLock(RunLock&&) noexcept = default;
  RunLock& operator=(RunLock&& o) noexcept {
    if (this != &o) {
      release();
      fd_ = std::move(o.fd_);
      unlink_ = std::exchange(o.unlink_, {});
    }
    return *this;
  }
  ~RunLock() { release(); }

 private:
  explicit RunLock(UniqueFd fd) : fd_(std::move(fd)) {}
  static RunLock acquire_file(const std::string& file, const std::string& what, bool wait);
  void release() noexcept;
  UniqueFd fd_;
  std::string unlink_;  // a named lock's file goes with it (one per run)
};

// A record in the state directory of a kernel resource this process set up
// outside itself (a loop device; a filesystem it made, which a FIFREEZE may
// leave frozen), removed when the resource is released. A record whose
// owner process is gone is what a killed run left: recover_leftovers()
// undoes it. Writing a record never fails a case (best effort).
class ResourceRecord {
 public:
  ResourceRecord() = default;
  // kind "loop": dev, and the backing file's device and inode (how a reused
  // loop number is told apart); kind "fs": dev and fstype.
  [[nodiscard]] static ResourceRecord loop(const std::string& dev, uint64_t backing_dev, uint64_t backing_ino);
  [[nodiscard]] static ResourceRecord filesystem(const std::string& dev, const std::string& fstype);
  ResourceRecord(ResourceRecord&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  ResourceRecord& operator=(ResourceRecord&& o) noexcept {
    if (this != &o) {
      remove();
      path_ = std::exchange(o.path_, {});
    }
    return *this;
  }
  ResourceRecord(const ResourceRecord&) = delete;
  ResourceRecord& operator=(const ResourceRecord&) = delete;
  ~ResourceRecord() { remove(); }
  void remove() noexcept;

 private:
  static ResourceRecord write(const std::string& text);
  std::string path_;
};

// Finds the records of runs that are gone and undoes what they left, in
// order: thaws each filesystem they made (mounted again on a private
// directory, FITHAW, unmounted: a frozen superblock outlives its mounts while
// a loop device over one of its files holds it), then detaches their loop
// devices, newest first, each only if it is still over the same backing file.
// Returns one line per action ("thawed ext4 on /dev/loop5 (left by pid 42)").
std::vector<std::string> recover_leftovers();
// recover_leftovers() with each line printed on stderr ("diorace: ...").
void recover_and_say();

}  // namespace diorace
