// Targets: where a case does its I/O. For now a directory on a filesystem;
// fixture files in it carry the data pattern and are reused across runs when
// their sectors say they were written with the requested parameters.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

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
  // Checks an existing fixture's size and a sample of its sectors.
  [[nodiscard]] bool fixture_matches(const FixtureSpec& spec) const;

 private:
  explicit DirectoryTarget(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace diorace
