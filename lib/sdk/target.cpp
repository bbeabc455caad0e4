// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/target.hpp"

#include <sys/statvfs.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <span>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"

namespace diorace {

namespace {

// The kernel's struct statx (include/uapi/linux/stat.h). glibc 2.36 hides the
// DIO alignment fields in padding, so the ABI is mirrored here, once.
struct KernelStatx {
  uint32_t stx_mask, stx_blksize;
  uint64_t stx_attributes;
  uint32_t stx_nlink, stx_uid, stx_gid;
  uint16_t stx_mode, pad1;
  uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
  struct {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t reserved;
  } stx_atime, stx_btime, stx_ctime, stx_mtime;
  uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
  uint64_t stx_mnt_id;
  uint32_t stx_dio_mem_align, stx_dio_offset_align;
  uint64_t spare[12];
};
static_assert(sizeof(KernelStatx) == 256);
constexpr unsigned kStatxDioAlign = 0x2000;

std::optional<uint32_t> logical_block_size(dev_t dev) {
  namespace fs = std::filesystem;
  std::string base = "/sys/dev/block/" + std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  std::string v;
  for (auto p : {base + "/queue/logical_block_size", base + "/../queue/logical_block_size"})
    if (try_read_file(p, v)) return static_cast<uint32_t>(std::stoul(v));
  return std::nullopt;
}

constexpr uint64_t kChunk = 1 << 20;


}  // namespace

DioAlignment probe_dio_alignment(const std::string& path) {
  DioAlignment a;
  KernelStatx stx{};
  if (::statx(AT_FDCWD, path.c_str(), 0, kStatxDioAlign, reinterpret_cast<struct statx*>(&stx)) == 0 &&
      (stx.stx_mask & kStatxDioAlign) && stx.stx_dio_offset_align != 0) {
    a.memory = stx.stx_dio_mem_align;
    a.offset = stx.stx_dio_offset_align;
    a.source = "statx";
    return a;
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0) {
    dev_t dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
    if (auto lbs = logical_block_size(dev)) {
      a.memory = a.offset = *lbs;
      a.source = "logical_block_size";
      return a;
    }
  }
  a.source = "default";
  return a;
}

DirectoryTarget DirectoryTarget::open(const std::string& path) {
  if (path.empty()) throw UsageError("--dir: empty path");
  struct stat st{};
  if (::stat(path.c_str(), &st) < 0)
    throw UsageError("--dir " + path + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw UsageError("--dir " + path + ": not a directory");
  if (::access(path.c_str(), W_OK | X_OK) < 0)
    throw UsageError("--dir " + path + ": not writable: " + std::strerror(errno));
  std::string probe = path + "/.diorace-probe-XXXXXX";
  int fd = ::mkstemp(probe.data());
  if (fd < 0) throw UsageError("--dir " + path + ": cannot create a file: " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
  return DirectoryTarget(std::filesystem::absolute(path).lexically_normal().string());
}

std::string DirectoryTarget::fs_type() const {
  if (!device_.empty()) return "block device";
  return filesystem_type(path_);
}

std::string filesystem_type(const std::string& path) {
  struct statfs sf{};
  if (::statfs(path.c_str(), &sf) < 0) return "unknown";
  switch (static_cast<unsigned long>(sf.f_type)) {
    case EXT4_SUPER_MAGIC: return "ext4";
    case XFS_SUPER_MAGIC: return "xfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    case TMPFS_MAGIC: return "tmpfs";
    case 0x794c7630: return "overlay";
    case 0x65735546: return "fuse";
    case NFS_SUPER_MAGIC: return "nfs";
    case RAMFS_MAGIC: return "ramfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(sf.f_type));
      return buf;
    }
  }
}

std::optional<std::string> DirectoryTarget::odirect_unsupported() const {
  if (!device_.empty()) {
    int err = 0;
    auto dfd = UniqueFd::try_open(device_, O_RDONLY | O_DIRECT, err);
    if (!dfd) return "O_DIRECT is not supported on " + device_ + ": open: " + std::strerror(-err);
    auto buf = AlignedBuffer::create(4096, 4096);
    if (::pread(dfd.get(), buf.data(), 4096, 0) != 4096)
      return "O_DIRECT read failed on " + device_ + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string probe = path_ + "/.diorace-odirect-XXXXXX";
  int fd = ::mkstemp(probe.data());
  if (fd < 0) return "cannot create a probe file in " + path_ + ": " + std::strerror(errno);
  ::close(fd);
  int err = 0;
  auto dfd = UniqueFd::try_open(probe, O_RDWR | O_DIRECT, err);
  std::optional<std::string> why;
  if (!dfd) {
    why = "O_DIRECT is not supported on " + path_ + " (" + fs_type() + "): open: " + std::strerror(-err);
  } else {
    auto a = probe_dio_alignment(probe);
    auto buf = AlignedBuffer::create(4096, 4096);
    buf.fill(std::byte{0});
    if (::pwrite(dfd.get(), buf.data(), 4096, 0) != 4096) {
      // A full filesystem or a quota says nothing about O_DIRECT (the open
      // took it): the case runs and meets the environment's error itself
      // (ERROR, not SKIP).
      if (errno != ENOSPC && errno != EDQUOT)
        why = "O_DIRECT write failed on " + path_ + " (" + fs_type() + "): " + std::strerror(errno);
    }
    else if (::pread(dfd.get(), buf.data(), 4096, 0) != 4096)
      why = "O_DIRECT read failed on " + path_ + " (" + fs_type() + "): " + std::strerror(errno);
    (void)a;
  }
  ::unlink(probe.c_str());
  return why;
}

DioAlignment DirectoryTarget::dio_alignment() const { return probe_dio_alignment(device_.empty() ? path_ : device_); }

void DirectoryTarget::bind_device(const std::string& path, uint64_t size, bool read_only) {
  device_ = path;
  device_size_ = size;
  read_only_ = read_only;
}

DirectoryTarget::Region DirectoryTarget::region(const std::string& name, uint64_t size) const {
  std::lock_guard lk(*layout_mu_);
  if (auto it = layout_.find(name); it != layout_.end()) {
    if (size && it->second.size != size) throw std::logic_error("fixture " + name + " asked for with two sizes");
    return it->second;
  }
  if (size == 0) throw std::logic_error("fixture " + name + " opened before it was made");
  const uint64_t aligned = (size + kChunk - 1) / kChunk * kChunk;
  if (cursor_ + aligned > device_size_)
    throw SkipError("--device " + device_ + " is too small for this case: it needs more than " +
                    std::to_string((cursor_ + aligned) >> 20) + " MiB, the device has " +
                    std::to_string(device_size_ >> 20) + " MiB");
  Region r{cursor_, size};
  cursor_ += aligned;
  layout_[name] = r;
  return r;
}

UniqueFd DirectoryTarget::open_fixture(const std::string& name, int flags) const {
  if (device_.empty()) return UniqueFd::open(file(name), flags);
  auto r = region(name, 0);
  auto fd = UniqueFd::open(device_, read_only_ ? (flags & ~(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) : (flags & ~(O_CREAT | O_TRUNC)));
  register_fd_window(fd.get(), r.base, r.size);
  return fd;
}

UniqueFd DirectoryTarget::open_case_file(const std::string& name, uint64_t size, int flags) const {
  if (device_.empty()) {
    auto fd = UniqueFd::create_new(file(name), flags, 0644);
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) throw_errno("ftruncate " + file(name));
    return fd;
  }
  if (read_only_) throw SkipError("this case writes to its target; --read-only forbids it on " + device_);
  auto r = region(name, size);
  auto fd = UniqueFd::open(device_, flags & ~(O_CREAT | O_TRUNC));
  register_fd_window(fd.get(), r.base, r.size);
  return fd;
}

namespace {

// Reads [off, off + len) of a fixture (the region's base added on a device)
// with O_DIRECT through fd, 1 MiB at a time, and hands each chunk to check;
// stops early when check returns false. False on a short read.
template <class Check>
bool read_fixture(int fd, uint64_t base, uint64_t off, uint64_t len, Check&& check) {
  auto buf = AlignedBuffer::create(kChunk, 4096);
  for (uint64_t at = off; at < off + len; at += kChunk) {
    const uint64_t n = std::min<uint64_t>(kChunk, off + len - at);
    if (::pread(fd, buf.data(), n, static_cast<off_t>(base + at)) != static_cast<ssize_t>(n)) return false;
    if (!check(std::span<const std::byte>(buf.data(), n), at)) return false;
  }
  return true;
}

}  // namespace

UniqueFd DirectoryTarget::open_for_check(const FixtureSpec& spec, uint64_t& base) const {
  int err = 0;
  base = 0;
  if (!device_.empty()) {
    base = region(spec.name, spec.size).base;
    return UniqueFd::try_open(device_, O_RDONLY | O_DIRECT, err);
  }
  auto fd = UniqueFd::try_open(file(spec.name), O_RDONLY | O_DIRECT | O_NOFOLLOW, err);
  struct stat st{};
  if (fd && (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != spec.size))
    return UniqueFd();
  return fd;
}

bool DirectoryTarget::fixture_matches(const FixtureSpec& spec) const {
  uint64_t base = 0;
  auto fd = open_for_check(spec, base);
  if (!fd) return false;
  // Every sector, at the verifier's speed: a verdict of corruption must
  // never come from a fixture that was damaged before the case began.
  Verifier v(spec.key, spec.name);
  return read_fixture(fd.get(), base, 0, spec.size,
                      [&](std::span<const std::byte> b, uint64_t at) { return v.intact(b, at); });
}

std::optional<std::string> DirectoryTarget::fixture_damage(const std::string& name, uint64_t offset,
                                                           uint64_t length) const {
  std::unique_lock lk(*layout_mu_);
  auto it = fixtures_.find(name);
  if (it == fixtures_.end()) return std::nullopt;  // not a fixture of this run
  const FixtureSpec spec = it->second;
  lk.unlock();
  const uint64_t from = offset / 4096 * 4096;
  const uint64_t to = std::min<uint64_t>(spec.size, (offset + std::max<uint64_t>(length, 1) + 4095) / 4096 * 4096);
  if (from >= to) return std::nullopt;
  uint64_t base = 0;
  auto fd = open_for_check(spec, base);
  if (!fd) return "fixture " + name + " can no longer be read back (missing, resized or replaced)";
  Verifier v(spec.key, spec.name);
  std::optional<std::string> damage;
  const bool read = read_fixture(fd.get(), base, from, to - from, [&](std::span<const std::byte> b, uint64_t at) {
    auto bad = v.verify(b, at);
    if (!bad.empty())
      damage = fmt::format("fixture {} holds wrong data on disk at offset 0x{:x} ({}), re-read after the case",
                           name, bad.front().offset, to_string(bad.front().cls));
    return bad.empty();
  });
  if (!read && !damage) damage = "fixture " + name + " can no longer be read back (short read)";
  return damage;
}

namespace {

// A fixture being written: removed unless it was completed.
struct PartialFile {
  std::string path;
  bool done = false;
  ~PartialFile() {
    if (!done) ::unlink(path.c_str());
  }
};

}  // namespace

bool DirectoryTarget::ensure_fixture(const FixtureSpec& spec) const {
  if (spec.size == 0 || spec.size % kChunk != 0)
    throw UsageError("fixture size must be a positive multiple of 1 MiB");
  // Runs sharing a directory set their fixtures up one at a time: a check
  // and a rewrite of the same file by two processes at once would remove
  // each other's partial file. The lock is the directory's own (flock), so
  // nothing is left behind and a killed holder releases it.
  UniqueFd dir_lock;
  if (device_.empty()) {
    dir_lock = UniqueFd::open(path_, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (::flock(dir_lock.get(), LOCK_EX) < 0)
      if (errno != EINTR) throw_errno("lock " + path_);
  }
  const bool reused = fixture_matches(spec);
  {
    std::lock_guard lk(*layout_mu_);
    fixtures_[spec.name] = spec;
  }
  if (reused) return true;
  if (!device_.empty()) {
    if (read_only_)
      throw SkipError("--read-only: no diorace fixture " + spec.name + " with these parameters on " + device_ +
                      " (a run without --read-only writes it)");
    auto r = region(spec.name, spec.size);
    auto fd = UniqueFd::open(device_, O_WRONLY | O_DIRECT);
    auto buf = AlignedBuffer::create(kChunk, 4096);
    for (uint64_t off = 0; off < spec.size; off += kChunk) {
      fill_pattern(buf.span(), spec.key, off);
      pwrite_all(fd.get(), buf.data(), kChunk, static_cast<long long>(r.base + off), "write fixture on " + device_);
    }
    if (::fdatasync(fd.get()) < 0) throw_errno("fdatasync " + device_);
    return false;
  }
  std::string path = file(spec.name);
  // The old fixture (it does not match) and any partial one a crash or a full
  // disk left go first, so that they do not hold the space the new one needs.
  ::unlink(path.c_str());
  PartialFile tmp{path + ".partial"};
  ::unlink(tmp.path.c_str());
  // Never fill the filesystem: refuse what does not fit, with the figures.
  struct statvfs sv{};
  if (::statvfs(path_.c_str(), &sv) == 0 && sv.f_blocks != 0) {
    const uint64_t avail = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
    const uint64_t margin = space_margin(static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize);
    if (spec.size + margin > avail)
      throw EnvironmentError(fmt::format("not enough space for fixture {}: it needs {} MiB, {} has {} MiB free and "
                                         "keeps {} MiB (No space left on device)",
                                         spec.name, spec.size >> 20, path_, avail >> 20, margin >> 20));
  }
  {
    auto fd = UniqueFd::open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECT, 0644);
    auto buf = AlignedBuffer::create(kChunk, 4096);
    for (uint64_t off = 0; off < spec.size; off += kChunk) {
      if (stop_ && stop_->load()) throw SetupError("interrupted while writing fixture " + spec.name);
      fill_pattern(buf.span(), spec.key, off);
      pwrite_all(fd.get(), buf.data(), kChunk, static_cast<long long>(off), "write fixture " + tmp.path);
    }
    if (::fsync(fd.get()) < 0) throw_errno("fsync " + tmp.path);
  }
  // Rename last, so that an interrupted write never leaves a fixture that
  // looks complete.
  if (::rename(tmp.path.c_str(), path.c_str()) < 0) throw_errno("rename " + tmp.path);
  tmp.done = true;
  return false;
}

}  // namespace diorace
