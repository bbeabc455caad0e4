// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/scratchfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "diorace/device.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/target.hpp"

namespace diorace {

ScratchFilesystem ScratchFilesystem::make(const DirectoryTarget& target, const Options& o) {
  if (::geteuid() != 0) throw SkipError("needs root (loop devices, mkfs, mount)");
  if (target.read_only()) throw SkipError("makes a filesystem; --read-only forbids writing");
  ScratchFilesystem fs;
  fs.fstype_ = o.fstype;
  fs.dir_ = target.file("diorace-" + o.name + "-mnt");
  std::filesystem::create_directories(fs.dir_);
  if (!target.scratch_device.empty()) {
    fs.dev_ = target.scratch_device;
    fs.scratch_device_ = true;
  } else {
    const std::string image = target.file("diorace-" + o.name + "-fs.img");
    {
      auto fd = UniqueFd::create_new(image, O_RDWR, 0644);
      if (::ftruncate(fd.get(), static_cast<off_t>(o.size_mib << 20)) < 0) {
        int err = errno;
        ::unlink(image.c_str());
        throw_errno(err, "truncate " + image);
      }
    }
    try {
      fs.loop_ = LoopDevice::attach(image, true);
    } catch (...) {
      ::unlink(image.c_str());
      throw;
    }
    ::unlink(image.c_str());  // the loop device holds it; nothing to remove later
    fs.dev_ = fs.loop_.path();
  }
  std::string opts = o.mkfs_options;
  // --mkfs-options go with --fstype: a case that makes another filesystem
  // (the ext4-only cases under --fstype xfs) does not get them.
  if (!target.mkfs_options.empty() && (target.fstype.empty() || target.fstype == o.fstype))
    opts += (opts.empty() ? "" : " ") + target.mkfs_options;
  make_filesystem(fs.dev_, o.fstype, opts);
  try {
    fs.mount_ = Mount::make(fs.dev_, fs.dir_, o.fstype);
  } catch (const std::system_error& e) {
    // The kernel refuses a feature the filesystem was made with (inline_data
    // on a kernel without it) or the filesystem type itself.
    if (e.code().value() == EINVAL || e.code().value() == ENODEV || e.code().value() == EOPNOTSUPP)
      throw SkipError(std::string("the kernel cannot mount the filesystem (") + o.fstype +
                      (o.mkfs_options.empty() ? "" : " " + o.mkfs_options) + "): " + e.what());
    throw;
  }
  fs.record_ = ResourceRecord::filesystem(fs.dev_, o.fstype);
  return fs;
}

ScratchFilesystem& ScratchFilesystem::operator=(ScratchFilesystem&& o) noexcept {
  if (this != &o) {
    release();
    dir_ = std::exchange(o.dir_, {});
    dev_ = std::exchange(o.dev_, {});
    fstype_ = std::exchange(o.fstype_, {});
    scratch_device_ = std::exchange(o.scratch_device_, false);
    loop_ = std::move(o.loop_);
    mount_ = std::move(o.mount_);
    record_ = std::move(o.record_);
  }
  return *this;
}

void ScratchFilesystem::remount() {
  mount_.unmount();
  mount_ = Mount::make(dev_, dir_, fstype_);
}

void ScratchFilesystem::release() noexcept {
  mount_.unmount();
  record_.remove();
  loop_.detach();
  // A scratch device is left without the signature this put there, so that
  // the next run's safety check does not mistake it for data.
  if (scratch_device_) {
    try {
      wipe_signatures(dev_);
    } catch (const std::exception&) {
    }
    scratch_device_ = false;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove(dir_, ec);
  }
}

ScratchFilesystem::~ScratchFilesystem() { release(); }

}  // namespace diorace
