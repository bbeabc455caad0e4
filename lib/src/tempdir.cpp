// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/tempdir.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <utility>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"

namespace diorace {

namespace fs = std::filesystem;

OwnedTempDir OwnedTempDir::create(const std::string& parent, const std::string& name_prefix) {
  std::string tmpl = parent + "/" + name_prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw_errno("mkdtemp " + tmpl);
  OwnedTempDir d(tmpl);
  const int pid = static_cast<int>(::getpid());
  write_file(tmpl + "/" + kOwnerFile, std::to_string(pid) + " " + std::to_string(process_start_time(pid)) + "\n");
  return d;
}

OwnedTempDir::OwnedTempDir(OwnedTempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}

OwnedTempDir& OwnedTempDir::operator=(OwnedTempDir&& o) noexcept {
  if (this != &o) {
    OwnedTempDir old(std::move(*this));
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

OwnedTempDir::~OwnedTempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

// Mount points at or below dir (from /proc/self/mountinfo, field 5).
std::vector<std::string> mounts_below(const std::string& dir) {
  std::vector<std::string> out;
  std::string info;
  if (!try_read_file("/proc/self/mountinfo", info)) return out;
  std::istringstream lines(info);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string id, parent, devno, root, mnt;
    if (!(f >> id >> parent >> devno >> root >> mnt)) continue;
    if (mnt == dir || mnt.rfind(dir + "/", 0) == 0) out.push_back(mnt);
  }
  return out;
}

}  // namespace

std::vector<StaleDir> remove_stale_tempdirs(const std::string& parent, const std::string& name_prefix) {
  std::vector<StaleDir> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(name_prefix, 0) != 0 || !e.is_directory(ec) || e.is_symlink(ec)) continue;
    std::string owner;
    if (!try_read_file(e.path().string() + "/" + kOwnerFile, owner)) continue;
    int pid = 0;
    unsigned long long start = 0;
    std::istringstream is(owner);
    if (!(is >> pid >> start) || pid <= 0) continue;
    const bool alive = (::kill(pid, 0) == 0 || errno == EPERM) && process_start_time(pid) == start;
    if (alive) continue;
    StaleDir s{e.path().string(), "", false};
    if (auto m = mounts_below(s.path); !m.empty()) {
      s.note = "left alone: " + m.front() + " is still mounted";
    } else {
      fs::remove_all(s.path, ec);
      s.removed = !ec;
      s.note = s.removed ? "left by pid " + std::to_string(pid) + ", which is gone"
                         : "could not be removed: " + ec.message();
    }
    out.push_back(std::move(s));
  }
  return out;
}

void clean_stale_tempdirs(const std::string& parent, const std::string& name_prefix, const char* what) {
  for (const auto& s : remove_stale_tempdirs(parent, name_prefix))
    std::fprintf(stderr, "diorace: %s stale %s %s (%s)\n", s.removed ? "removed" : "found", what, s.path.c_str(),
                 s.note.c_str());
}

}  // namespace diorace
