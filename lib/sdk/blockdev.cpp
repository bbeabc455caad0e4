// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/blockdev.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/process.hpp"

namespace diorace {

LoopDevice LoopDevice::attach(const std::string& backing, bool direct_io) {
  int err = 0;
  auto ctl = UniqueFd::try_open("/dev/loop-control", O_RDWR, err);
  if (!ctl) throw SkipError(std::string("loop devices unavailable: /dev/loop-control: ") + std::strerror(-err));
  auto file = UniqueFd::open(backing, O_RDWR);
  // The free device the kernel names first; when its node is missing (a
  // container's /dev without devtmpfs), the nodes that are there, in turn.
  std::vector<std::string> candidates;
  for (int n = 0; n < 256; ++n)
    if (::access(("/dev/loop" + std::to_string(n)).c_str(), F_OK) == 0) candidates.push_back("/dev/loop" + std::to_string(n));
  size_t next = 0;
  for (int attempt = 0; attempt < 16 + static_cast<int>(candidates.size()); ++attempt) {
    int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) throw_errno("LOOP_CTL_GET_FREE");
    std::string path = "/dev/loop" + std::to_string(n);
    auto dev = UniqueFd::try_open(path, O_RDWR, err);
    if (!dev && err == -ENOENT && next < candidates.size()) {
      path = candidates[next++];
      dev = UniqueFd::try_open(path, O_RDWR, err);
    }
    if (!dev) throw_errno(-err, "open " + path);
    loop_config cfg{};
    cfg.fd = static_cast<unsigned>(file.get());
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (direct_io ? LO_FLAGS_DIRECT_IO : 0);
    std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), backing.c_str(), LO_NAME_SIZE - 1);
    // Configured: the device, with its record in the state directory.
    auto attached = [&] {
      LoopDevice l;
      l.path_ = path;
      l.fd_ = dev.release();
      l.remember(file.get());
      return l;
    };
    if (::ioctl(dev.get(), LOOP_CONFIGURE, &cfg) == 0) return attached();
    if (errno == EBUSY) continue;  // another process took it first
    if (errno == EINVAL && direct_io) {
      // Direct I/O refused (backing filesystem): fall back, say so in the path's owner.
      cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      if (::ioctl(dev.get(), LOOP_CONFIGURE, &cfg) == 0) return attached();
    }
    throw_errno("LOOP_CONFIGURE " + path + " over " + backing);
  }
  throw SetupError("no free loop device after 16 attempts");
}

void LoopDevice::remember(int backing_fd) {
  struct stat st{};
  if (::fstat(backing_fd, &st) == 0)
    record_ = ResourceRecord::loop(path_, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
}

void LoopDevice::detach() noexcept {
  if (fd_ < 0) return;
  for (int i = 0; i < 50; ++i) {
    if (::ioctl(fd_, LOOP_CLR_FD, 0) == 0 || errno == ENXIO) break;
    ::usleep(20000);  // EBUSY right after an unmount: the last opener is closing
  }
  ::close(fd_);
  fd_ = -1;
  path_.clear();
  record_.remove();
}

std::string load_fs_modules(const std::string& fstype) {
  std::string order;
  if (fstype.empty() || fstype.find('/') != std::string::npos || !try_read_file("/modules/fs." + fstype, order))
    return "";
  std::string known;
  (void)try_read_file("/proc/filesystems", known);
  std::istringstream lines(known);
  for (std::string line; std::getline(lines, line);)
    if (line.ends_with("\t" + fstype)) return "";  // "nodev\tTYPE" or "\tTYPE"
  std::string failed;
  std::istringstream names(order);
  for (std::string m; std::getline(names, m);) {
    if (m.empty()) continue;
    UniqueFd ko(::open(("/modules/" + m + ".ko").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ko || (::syscall(SYS_finit_module, ko.get(), "", 0) < 0 && errno != EEXIST))
      failed += fmt::format("{}{}: {}", failed.empty() ? "" : "; ", m, std::strerror(errno));
  }
  return failed;
}

Mount Mount::make(const std::string& device, const std::string& dir, const std::string& fstype,
                  const std::string& options) {
  const std::string not_loaded = load_fs_modules(fstype);
  if (::mount(device.c_str(), dir.c_str(), fstype.c_str(), 0, options.empty() ? nullptr : options.c_str()) < 0)
    throw_errno("mount " + device + " on " + dir + " (" + fstype + ")" +
                (not_loaded.empty() ? "" : " [module load failed: " + not_loaded + "]"));
  Mount m;
  m.dir_ = dir;
  return m;
}

void Mount::unmount() noexcept {
  if (dir_.empty()) return;
  for (int i = 0; i < 50; ++i) {
    if (::umount2(dir_.c_str(), 0) == 0 || errno == EINVAL || errno == ENOENT) {
      dir_.clear();
      return;
    }
    ::usleep(20000);
  }
  ::umount2(dir_.c_str(), MNT_DETACH);
  dir_.clear();
}

std::vector<std::string> leftovers_under(const std::string& dir) {
  std::vector<std::string> out;
  if (dir.empty()) return out;
  const std::string prefix = dir.back() == '/' ? dir : dir + "/";
  std::string mi;
  if (try_read_file("/proc/self/mountinfo", mi)) {
    std::istringstream is(mi);
    for (std::string line; std::getline(is, line);) {
      std::istringstream f(line);
      std::string id, parent, majmin, root, point;
      f >> id >> parent >> majmin >> root >> point;
      if (point == dir || point.rfind(prefix, 0) == 0) out.push_back("mount " + point);
    }
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/block", ec)) {
    std::string b;
    if (!try_read_file(e.path().string() + "/loop/backing_file", b)) continue;
    while (!b.empty() && b.back() == '\n') b.pop_back();
    if (b.rfind(prefix, 0) == 0) out.push_back(e.path().filename().string() + " over " + b);
  }
  return out;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < text.size())
        w.push_back(text[++i]);
      else
        w.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      w.push_back(text[++i]);
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::exchange(w, {}));
      in_word = false;
    } else {
      w.push_back(c);
      in_word = true;
    }
  }
  if (quote) throw UsageError("unbalanced quote in '" + text + "'");
  if (in_word) out.push_back(w);
  return out;
}

void make_filesystem(const std::string& device, const std::string& fstype, const std::string& extra_options) {
  std::string tool = "mkfs." + fstype;
  if (!have_program(tool)) throw SkipError(tool + " not found (install e2fsprogs/xfsprogs/btrfs-progs)");
  const bool lower_f = fstype == "xfs" || fstype == "btrfs";  // their "force"; ext2/3/4 take -F
  std::vector<std::string> argv = {tool, lower_f ? "-f" : "-F", "-q"};
  for (auto& w : split_words(extra_options)) argv.push_back(std::move(w));
  argv.push_back(device);
  auto r = run_command(argv, std::chrono::seconds(300));
  if (!r.ok()) {
    // The tool's first lines say what was wrong; its usage text follows.
    std::istringstream is(r.output);
    std::string first, line;
    size_t lines = 0;
    while (std::getline(is, line))
      if (!line.empty() && lines++ < 2) first += (first.empty() ? "" : "; ") + line;
    throw SetupError(tool + " " + device + " failed: " + (first.empty() ? "exit " + std::to_string(r.status) : first) +
                     (lines > 2 ? fmt::format(" ({} more lines)", lines - 2) : ""));
  }
}

}  // namespace diorace
