// SPDX-License-Identifier: GPL-2.0-or-later
// Targets: where a case does its I/O. A directory on a filesystem, whose
// fixture files carry the data pattern and are reused across runs when their
// sectors say they were written with the requested parameters; or, with
// --device, a block device: each case lays its fixtures and files out from
// the start of the device, 1 MiB aligned, in the order it asks for them, and
// addresses them from 0 through an fd window (fd.hpp), so the cases are the
// same for both. The directory stays for everything that is not a fixture
// (mount points, images). A scratch device (--scratch-device) is for cases
// that make and mount filesystems.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "diorace/fd.hpp"

#include "diorace/pattern.hpp"

namespace diorace {

struct DioAlignment {
  uint32_t memory = 512;  // buffer address alignment
  uint32_t offset = 512;  // file offset and length alignment
  std::string source;     // "statx", "logical_block_size" or "default"
};

// Probes O_DIRECT alignment for a file: statx(STATX_DIOALIGN) where the kernel
// has it (6.1+), else the logical block size of the backing device.
DioAlignment probe_dio_alignment(const std::string& path);

struct FixtureSpec {
  std::string name;    // file name inside the target directory
  PatternKey key;
  uint64_t size = 0;   // bytes, a multiple of 1 MiB
};

// What diorace keeps free on a filesystem it writes fixtures to (logs, other
// users): 64 MiB, or a twentieth of a small filesystem.
constexpr uint64_t space_margin(uint64_t fs_bytes) { return fs_bytes / 20 < (64ull << 20) ? fs_bytes / 20 : 64ull << 20; }

// The type of the filesystem holding path ("ext4", "xfs", "btrfs", "tmpfs",
// ...), from statfs; "unknown" when statfs fails.
[[nodiscard]] std::string filesystem_type(const std::string& path);

class DirectoryTarget {
 public:
  // Validates the directory: exists, is a directory, writable. Throws
  // UsageError with a one-line reason otherwise.
  [[nodiscard]] static DirectoryTarget open(const std::string& path);

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] std::string fs_type() const;  // e.g. "ext4", from statfs

  // nullopt when O_DIRECT works here, else the reason (for a SKIP).
  [[nodiscard]] std::optional<std::string> odirect_unsupported() const;
  [[nodiscard]] DioAlignment dio_alignment() const;

  // Makes sure the fixture exists with the pattern; returns true when an
  // existing file was reused, false when it was (re)written.
  bool ensure_fixture(const FixtureSpec& spec) const;
  // Checks an existing fixture's size and every sector.
  [[nodiscard]] bool fixture_matches(const FixtureSpec& spec) const;
  // After a case found corruption in data it read from fixture `name`: the
  // same sectors re-read from the fixture. A description of the damage when
  // the fixture itself is wrong on disk (then the case's finding is no
  // evidence about the read it made), nullopt when the fixture is intact or
  // `name` is no fixture of this process.
  [[nodiscard]] std::optional<std::string> fixture_damage(const std::string& name, uint64_t offset,
                                                          uint64_t length) const;

  // Opens a fixture that ensure_fixture made (file, or region of the device).
  [[nodiscard]] UniqueFd open_fixture(const std::string& name, int flags) const;
  // A file the case writes itself, `size` bytes (created and sized in the
  // directory, or a region of the device). SKIP with --read-only on a device.
  [[nodiscard]] UniqueFd open_case_file(const std::string& name, uint64_t size, int flags) const;

  // --device: fixtures and case files go to this block device (checked by the
  // caller for safety); read_only opens it read-only and writes nothing.
  void bind_device(const std::string& path, uint64_t size, bool read_only);
  [[nodiscard]] const std::string& device() const noexcept { return device_; }
  [[nodiscard]] bool read_only() const noexcept { return read_only_; }

  // For cases that make filesystems: a device the user named as scratch ("":
  // the case makes its own loop device), the filesystem and mkfs options.
  std::string scratch_device;
  std::string fstype;        // "" : the case's own parameter decides
  std::string mkfs_options;

  // The case process's stop flag (SIGINT/SIGTERM): a fixture being written
  // stops at its next MiB, its partial file removed.
  void set_stop_flag(const std::atomic<bool>* stop) const noexcept { stop_ = stop; }

 private:
  explicit DirectoryTarget(std::string path) : path_(std::move(path)) {}
  struct Region {
    uint64_t base, size;
  };
  // Allocates (or finds) the device region of a fixture or case file.
  Region region(const std::string& name, uint64_t size) const;
  UniqueFd open_for_check(const FixtureSpec& spec, uint64_t& base) const;
  std::string path_;
  std::string device_;
  uint64_t device_size_ = 0;
  bool read_only_ = false;
  // Per case process: each case lays out the device from the start.
  mutable std::shared_ptr<std::mutex> layout_mu_ = std::make_shared<std::mutex>();
  mutable std::map<std::string, Region> layout_;
  mutable uint64_t cursor_ = 0;
  mutable const std::atomic<bool>* stop_ = nullptr;
  mutable std::map<std::string, FixtureSpec> fixtures_;  // ensured by this process
};

}  // namespace diorace
