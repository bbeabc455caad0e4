// SPDX-License-Identifier: GPL-2.0-or-later
// Temporary directories diorace makes under /var/tmp (a run's scratch
// directory, the VM runner's work directory). Each holds a small owner file
// (pid and process start time), so that after a crash or a SIGKILL the next
// run can tell which of them nobody owns any more, remove them and say so.
#pragma once
#include <string>
#include <vector>

#include "diorace/process.hpp"  // process_start_time

namespace diorace {

class OwnedTempDir {
 public:
  OwnedTempDir() = default;
  // mkdtemp(parent/name_prefix + "XXXXXX"), then the owner file.
  [[nodiscard]] static OwnedTempDir create(const std::string& parent, const std::string& name_prefix);
  OwnedTempDir(OwnedTempDir&& o) noexcept;
  OwnedTempDir& operator=(OwnedTempDir&& o) noexcept;
  OwnedTempDir(const OwnedTempDir&) = delete;
  OwnedTempDir& operator=(const OwnedTempDir&) = delete;
  ~OwnedTempDir();  // removes the directory and everything in it
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool empty() const noexcept { return path_.empty(); }

 private:
  explicit OwnedTempDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// The name of the owner file inside an OwnedTempDir.
inline constexpr const char* kOwnerFile = ".diorace-owner";

struct StaleDir {
  std::string path;
  std::string note;  // "left by pid N, which is gone" or why it was left alone
  bool removed = false;
};
// Directories parent/name_prefix* that carry an owner file whose process is
// gone: removed, unless something is still mounted below them (then left,
// with the reason). Directories without an owner file are never touched.
std::vector<StaleDir> remove_stale_tempdirs(const std::string& parent, const std::string& name_prefix);
// Calls remove_stale_tempdirs and prints one line per directory on stderr.
void clean_stale_tempdirs(const std::string& parent, const std::string& name_prefix, const char* what);


}  // namespace diorace
