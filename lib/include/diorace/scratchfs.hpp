// SPDX-License-Identifier: GPL-2.0-or-later
// A filesystem a case makes for itself, once, in set-up: on the scratch
// device the user named (--scratch-device, checked for safety by the runner)
// or on a loop device (direct I/O on) over a sparse image in the target
// directory, which is unlinked as soon as the loop device holds it. Mounted
// below the target directory; the destructor unmounts, detaches and, on a
// scratch device, wipes the signature it left, so nothing stays behind even
// when set-up fails half-way. A killed case leaves nothing either: its
// mounts go with its private mount namespace and the loop device autoclears.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "diorace/blockdev.hpp"

namespace diorace {

class DirectoryTarget;

class ScratchFilesystem {
 public:
  struct Options {
    std::string name;          // case name, for the image and mount point names
    std::string fstype = "ext4";
    std::string mkfs_options;  // besides the user's --mkfs-options
    uint64_t size_mib = 64;    // image size (sparse); xfs wants 300 at least
  };
  ScratchFilesystem() = default;
  // Throws SkipError when this machine cannot (no root, no loop devices, no
  // mkfs tool, a feature the kernel refuses at mount time) and SetupError
  // when something else fails.
  [[nodiscard]] static ScratchFilesystem make(const DirectoryTarget& target, const Options& o);
  ScratchFilesystem(ScratchFilesystem&& o) noexcept { *this = std::move(o); }
  ScratchFilesystem& operator=(ScratchFilesystem&&) noexcept;
  ScratchFilesystem(const ScratchFilesystem&) = delete;
  ScratchFilesystem& operator=(const ScratchFilesystem&) = delete;
  ~ScratchFilesystem();

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }      // the mount point
  [[nodiscard]] const std::string& device() const noexcept { return dev_; }
  [[nodiscard]] const std::string& fstype() const noexcept { return fstype_; }
  [[nodiscard]] std::string file(const std::string& name) const { return dir_ + "/" + name; }
  // Unmounts and mounts again (to read what reached the disk).
  void remount();

 private:
  void release() noexcept;
  std::string dir_, dev_, fstype_;
  bool scratch_device_ = false;
  LoopDevice loop_;
  Mount mount_;
  ResourceRecord record_;  // a killed run's filesystem (frozen, maybe) is thawed by the next
};

}  // namespace diorace
