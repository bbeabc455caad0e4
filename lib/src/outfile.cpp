// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/outfile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "diorace/error.hpp"

namespace diorace {

namespace {

std::string kind_of(mode_t m) {
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISDIR(m)) return "a directory";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// "" when PATH may be replaced, else why not.
std::string why_not_writable(const std::string& path) {
  if (path.empty()) return "empty path";
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      return "exists and is " + kind_of(st.st_mode) + "; diorace replaces only regular files";
    return "";
  }
  if (errno != ENOENT) return std::strerror(errno);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct stat ds{};
  if (::stat(dir.c_str(), &ds) < 0) return "directory " + dir.string() + ": " + std::strerror(errno);
  if (!S_ISDIR(ds.st_mode)) return dir.string() + " is not a directory";
  if (::access(dir.c_str(), W_OK | X_OK) < 0) return "directory " + dir.string() + ": " + std::strerror(errno);
  return "";
}

}  // namespace

void check_output_path(const std::string& path, const std::string& option) {
  if (auto why = why_not_writable(path); !why.empty()) throw UsageError(option + " " + path + ": " + why);
}

namespace {

struct Named {
  std::string option, path;
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string resolved;
};

Named name_of(const std::string& option, const std::string& path) {
  Named n{option, path};
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0) {
    n.exists = true;
    n.dev = st.st_dev;
    n.ino = st.st_ino;
  }
  std::error_code ec;
  n.resolved = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec).string();
  if (ec) n.resolved = path;
  return n;
}

bool same_file(const Named& a, const Named& b) {
  if (a.exists && b.exists) return a.dev == b.dev && a.ino == b.ino;
  return a.resolved == b.resolved;
}

}  // namespace

void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& outputs,
                          const std::vector<std::pair<std::string, std::string>>& inputs) {
  std::vector<Named> outs, ins;
  for (const auto& [o, p] : outputs)
    if (!p.empty() && p != "-") outs.push_back(name_of(o, p));
  for (const auto& [o, p] : inputs)
    if (!p.empty() && p != "-" && p != "none" && p.find("://") == std::string::npos) ins.push_back(name_of(o, p));
  for (size_t i = 0; i < outs.size(); ++i) {
    for (const auto& in : ins)
      if (same_file(outs[i], in))
        throw UsageError(outs[i].option + " " + outs[i].path + ": is the file of " + in.option + " " + in.path +
                         "; refusing to overwrite it");
    for (size_t j = 0; j < i; ++j)
      if (same_file(outs[i], outs[j]))
        throw UsageError(outs[j].option + " and " + outs[i].option + " name the same file " + outs[i].path +
                         "; give each output its own");
  }
}

void write_output_file(const std::string& path, const std::string& text) {
  if (auto why = why_not_writable(path); !why.empty()) throw std::runtime_error("cannot write " + path + ": " + why);
  std::filesystem::path p(path);
  std::string tmpl = (p.parent_path().empty() ? std::string(".") : p.parent_path().string()) + "/." +
                     p.filename().string() + ".diorace-XXXXXX";
  // mkostemp: O_CREAT|O_EXCL with a random suffix; a planted link makes it
  // fail (or pick another name), it is never followed.
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot write " + path + ": temporary file: " + std::strerror(errno));
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw std::runtime_error("cannot write " + path + ": " + what + ": " + std::strerror(err));
  };
  // A file replaced keeps its mode and owner; a new one is 0644.
  struct stat old{};
  const bool replacing = ::lstat(path.c_str(), &old) == 0 && S_ISREG(old.st_mode);
  if (::fchmod(fd, replacing ? (old.st_mode & 07777) : 0644) < 0) fail("chmod", errno);
  if (replacing && (old.st_uid != ::geteuid() || old.st_gid != ::getegid()) &&
      ::fchown(fd, old.st_uid, old.st_gid) < 0)
    fail("keeping the owner of the file it replaces", errno);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) < 0) fail("fsync", errno);
  if (::close(fd) < 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    throw std::runtime_error("cannot write " + path + ": close: " + std::strerror(err));
  }
  // Checked again just before the rename: something may have appeared there
  // during a long run.
  if (auto why = why_not_writable(path); !why.empty()) {
    ::unlink(tmpl.c_str());
    throw std::runtime_error("cannot write " + path + ": " + why);
  }
  if (::rename(tmpl.c_str(), path.c_str()) < 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    throw std::runtime_error("cannot write " + path + ": rename: " + std::strerror(err));
  }
}

}  // namespace diorace
