// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/state.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/process.hpp"

namespace diorace {

namespace {

// dir, created 0700 when missing; "" when it cannot be made or is not a
// directory of this user (then it is not used: another user could plant
// records and locks there).
std::string own_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) return "";
  struct stat st{};
  if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) return "";
  return dir;
}

}  // namespace

std::string state_dir() {
  if (const char* env = std::getenv("DIORACE_STATE_DIR"); env && *env) {
    if (auto d = own_dir(env); !d.empty()) return d;
    throw SetupError(std::string("DIORACE_STATE_DIR ") + env + ": cannot be made, or is not a directory of this user");
  }
  // root: /run/diorace (a tmpfs, like the loop devices and mounts it
  // records); another user, or no /run: a directory of that user's.
  if (::geteuid() == 0)
    if (auto d = own_dir("/run/diorace"); !d.empty()) return d;
  const std::string mine = fmt::format("/tmp/diorace-state-{}", ::geteuid());
  if (auto d = own_dir(mine); !d.empty()) return d;
  throw SetupError("state directory " + mine + ": cannot be made, or is not a directory of this user");
}

RunLock RunLock::acquire(const std::string& path, const std::string& what, bool wait) {
  struct stat st{};
  if (::stat(path.c_str(), &st) < 0) throw UsageError(what + ": " + std::strerror(errno));
  // A device is named by the device it is, wherever its node lives.
  const std::string key = S_ISBLK(st.st_mode)
                              ? fmt::format("dev-{}-{}", major(st.st_rdev), minor(st.st_rdev))
                              : fmt::format("dir-{:x}-{}", static_cast<unsigned long long>(st.st_dev),
                                            static_cast<unsigned long long>(st.st_ino));
  return acquire_file(state_dir() + "/" + key + ".lock", what, wait);
}

void RunLock::release() noexcept {
  if (fd_ && !unlink_.empty()) ::unlink(unlink_.c_str());
  unlink_.clear();
  fd_ = UniqueFd();
}

RunLock RunLock::acquire_named(const std::string& key, const std::string& what, bool wait) {
  RunLock l = acquire_file(state_dir() + "/" + key + ".lock", what, wait);
  if (key.rfind("run-", 0) == 0) l.unlink_ = state_dir() + "/" + key + ".lock";
  return l;
}

RunLock RunLock::acquire_file(const std::string& file, const std::string& what, bool wait) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw_errno("lock " + file);
  UniqueFd hold(fd);
  struct flock fl{};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &fl) == 0) return RunLock(std::move(hold));
  if (errno != EACCES && errno != EAGAIN) throw_errno("lock " + file);
  struct flock who{};
  who.l_type = F_WRLCK;
  who.l_whence = SEEK_SET;
  const pid_t holder = ::fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? who.l_pid : 0;
  const std::string by = holder > 0 ? fmt::format("another diorace run (pid {})", holder) : "another diorace run";
  if (!wait)
    throw UsageError(fmt::format("{}: in use by {}; give this run its own, or add --wait-lock to wait for it", what,
                                 by));
  std::fprintf(stderr, "diorace: %s: in use by %s: waiting (--wait-lock)\n", what.c_str(), by.c_str());
  while (::fcntl(fd, F_SETLKW, &fl) < 0) {
    if (errno != EINTR) throw_errno("lock " + file);
    throw UsageError(what + ": interrupted while waiting for " + by);
  }
  return RunLock(std::move(hold));
}

namespace {

std::atomic<unsigned> g_record_seq{0};

// Record names sort by owner and creation: res-PID-START-SEQ.json.
std::string record_name(int pid, unsigned long long start, unsigned seq) {
  return fmt::format("res-{}-{}-{:06}.json", pid, start, seq);
}

// A zombie is gone for this purpose: it never uses its resources again (a
// killed case stays a zombie while one of its threads waits in the kernel
// for the very filesystem it froze).
bool owner_alive(int pid, unsigned long long start) {
  if (pid <= 0 || start == 0 || process_start_time(pid) != start) return false;
  std::string stat;
  if (!try_read_file("/proc/" + std::to_string(pid) + "/stat", stat)) return false;
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
}

bool loop_matches(const std::string& dev, uint64_t backing_dev, uint64_t backing_ino, UniqueFd& fd) {
  int err = 0;
  fd = UniqueFd::try_open(dev, O_RDONLY, err);
  if (!fd) return false;
  loop_info64 info{};
  if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) < 0) return false;
  return info.lo_device == backing_dev && info.lo_inode == backing_ino;
}

std::string thaw(const std::string& dev, const std::string& fstype) {
  std::string tmpl = state_dir() + "/thaw-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return std::string("could not thaw ") + dev + ": mkdtemp: " + std::strerror(errno);
  std::string said;
  // Mounting the device again gives the superblock it already has, frozen
  // or not; MS_RDONLY is refused on a superblock mounted read-write, so no
  // flags.
  if (::mount(dev.c_str(), tmpl.c_str(), fstype.c_str(), 0, nullptr) < 0) {
    said = fmt::format("could not thaw {} {}: mount: {}", fstype, dev, std::strerror(errno));
  } else {
    int d = ::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0 && ::ioctl(d, FITHAW, 0) == 0)
      said = fmt::format("thawed {} on {}", fstype, dev);
    else if (d >= 0 && errno != EINVAL)
      said = fmt::format("could not thaw {} {}: FITHAW: {}", fstype, dev, std::strerror(errno));
    if (d >= 0) ::close(d);
    for (int i = 0; i < 50 && ::umount2(tmpl.c_str(), 0) < 0 && errno == EBUSY; ++i) ::usleep(20000);
    (void)::umount2(tmpl.c_str(), MNT_DETACH);
  }
  ::rmdir(tmpl.c_str());
  return said;
}

}  // namespace

ResourceRecord ResourceRecord::write(const std::string& text) {
  ResourceRecord r;
  try {
    const int pid = ::getpid();
    const std::string path =
        state_dir() + "/" + record_name(pid, process_start_time(pid), g_record_seq.fetch_add(1));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return r;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      return r;
    }
    r.path_ = path;
  } catch (const std::exception&) {
  }
  return r;
}

ResourceRecord ResourceRecord::loop(const std::string& dev, uint64_t backing_dev, uint64_t backing_ino) {
  return write(nlohmann::json{{"kind", "loop"}, {"dev", dev}, {"backing_dev", backing_dev},
                              {"backing_ino", backing_ino}}.dump());
}

ResourceRecord ResourceRecord::filesystem(const std::string& dev, const std::string& fstype) {
  return write(nlohmann::json{{"kind", "fs"}, {"dev", dev}, {"fstype", fstype}}.dump());
}

void ResourceRecord::remove() noexcept {
  if (path_.empty()) return;
  ::unlink(path_.c_str());
  path_.clear();
}

std::vector<std::string> recover_leftovers() {
  std::vector<std::string> said;
  std::string dir;
  try {
    dir = state_dir();
  } catch (const std::exception&) {
    return said;
  }
  struct Rec {
    std::string file;
    int pid = 0;
    nlohmann::json doc;
  };
  std::vector<Rec> stale;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    int pid = 0;
    unsigned long long start = 0;
    unsigned seq = 0;
    if (std::sscanf(n.c_str(), "res-%d-%llu-%u.json", &pid, &start, &seq) != 3) continue;
    if (owner_alive(pid, start)) continue;
    std::string text;
    Rec r{e.path().string(), pid, nullptr};
    if (try_read_file(r.file, text)) r.doc = nlohmann::json::parse(text, nullptr, false);
    stale.push_back(std::move(r));
  }
  std::sort(stale.begin(), stale.end(), [](const Rec& a, const Rec& b) { return a.file < b.file; });
  auto str = [](const nlohmann::json& j, const char* k) {
    return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  auto num = [](const nlohmann::json& j, const char* k) {
    return j.is_object() && j.contains(k) && j[k].is_number_unsigned() ? j[k].get<uint64_t>() : uint64_t{0};
  };
  // A filesystem is thawed only while the loop device it is on is still the
  // one its run attached (the same backing file).
  auto still_ours = [&](const std::string& dev) {
    for (const auto& r : stale) {
      UniqueFd fd;
      if (str(r.doc, "kind") == "loop" && str(r.doc, "dev") == dev &&
          loop_matches(dev, num(r.doc, "backing_dev"), num(r.doc, "backing_ino"), fd))
        return true;
    }
    return false;
  };
  for (const auto& r : stale)
    if (str(r.doc, "kind") == "fs" && still_ours(str(r.doc, "dev")))
      if (auto s = thaw(str(r.doc, "dev"), str(r.doc, "fstype")); !s.empty())
        said.push_back(s + fmt::format(" (left by pid {}, which is gone)", r.pid));
  for (auto it = stale.rbegin(); it != stale.rend(); ++it) {
    if (str(it->doc, "kind") != "loop") continue;
    const std::string dev = str(it->doc, "dev");
    UniqueFd fd;
    if (!loop_matches(dev, num(it->doc, "backing_dev"), num(it->doc, "backing_ino"), fd)) continue;
    bool done = false;
    for (int i = 0; i < 100 && !done; ++i) {
      done = ::ioctl(fd.get(), LOOP_CLR_FD, 0) == 0 || errno == ENXIO;
      if (!done) ::usleep(20000);
    }
    said.push_back(fmt::format("{} {} (left by pid {}, which is gone)", done ? "detached" : "could not detach", dev,
                               it->pid));
  }
  for (const auto& r : stale) ::unlink(r.file.c_str());
  return said;
}

void recover_and_say() {
  for (const auto& line : recover_leftovers()) std::fprintf(stderr, "diorace: %s\n", line.c_str());
}

}  // namespace diorace
