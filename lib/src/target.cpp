#include "diorace/target.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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
  struct statfs sf{};
  if (::statfs(path_.c_str(), &sf) < 0) return "unknown";
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
    if (::pwrite(dfd.get(), buf.data(), 4096, 0) != 4096)
      why = "O_DIRECT write failed on " + path_ + " (" + fs_type() + "): " + std::strerror(errno);
    else if (::pread(dfd.get(), buf.data(), 4096, 0) != 4096)
      why = "O_DIRECT read failed on " + path_ + " (" + fs_type() + "): " + std::strerror(errno);
    (void)a;
  }
  ::unlink(probe.c_str());
  return why;
}

DioAlignment DirectoryTarget::dio_alignment() const { return probe_dio_alignment(path_); }

bool DirectoryTarget::fixture_matches(const FixtureSpec& spec) const {
  int err = 0;
  auto fd = UniqueFd::try_open(file(spec.name), O_RDONLY | O_DIRECT, err);
  if (!fd) return false;
  struct stat st{};
  if (::fstat(fd.get(), &st) < 0 || static_cast<uint64_t>(st.st_size) != spec.size) return false;
  // Sample the first, a middle and the last 1 MiB.
  auto buf = AlignedBuffer::create(kChunk, 4096);
  Verifier v(spec.key, spec.name);
  for (uint64_t off : {uint64_t(0), (spec.size / 2) / kChunk * kChunk, spec.size - kChunk}) {
    if (::pread(fd.get(), buf.data(), kChunk, static_cast<off_t>(off)) != static_cast<ssize_t>(kChunk)) return false;
    if (!v.intact(buf.span(), off)) return false;
  }
  return true;
}

bool DirectoryTarget::ensure_fixture(const FixtureSpec& spec) const {
  if (spec.size == 0 || spec.size % kChunk != 0)
    throw UsageError("fixture size must be a positive multiple of 1 MiB");
  if (fixture_matches(spec)) return true;
  std::string path = file(spec.name);
  std::string tmp = path + ".partial";
  {
    auto fd = UniqueFd::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
    auto buf = AlignedBuffer::create(kChunk, 4096);
    for (uint64_t off = 0; off < spec.size; off += kChunk) {
      fill_pattern(buf.span(), spec.key, off);
      pwrite_all(fd.get(), buf.data(), kChunk, static_cast<long long>(off), "write fixture " + tmp);
    }
    if (::fsync(fd.get()) < 0) throw_errno("fsync " + tmp);
  }
  // Rename last, so that an interrupted write never leaves a fixture that
  // looks complete.
  if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename " + tmp);
  return false;
}

}  // namespace diorace
