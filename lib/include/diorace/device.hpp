// SPDX-License-Identifier: GPL-2.0-or-later
// Real block devices: what a device is, and whether diorace may write to it.
//
// Before any write to a device diorace refuses when it, or any of its
// partitions, is mounted (mountinfo), is used as swap (/proc/swaps), is held
// by another device (sysfs holders: dm, md, loop), or carries a filesystem,
// partition-table or RAID signature (libblkid), unless the user confirms with
// --force-device naming the same device again. Symlinks are resolved and the
// refusal names the device that is meant.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace diorace {

struct BlockDeviceInfo {
  std::string given;    // as the user wrote it
  std::string path;     // resolved (/dev/sdb, /dev/loop3)
  std::string sysname;  // sdb, loop3, nvme0n1p2
  dev_t rdev = 0;
  uint64_t size = 0;    // bytes
  uint32_t logical_block = 512;
  std::string model;    // sysfs model (a partition's: its disk's), or "loop over FILE"
  std::string bus;      // nvme, virtio, sata, scsi, loop; "" when unknown
  std::vector<std::string> partitions;  // sysnames
  bool read_only = false;  // sysfs ro: a read-only loop device, a write-protected disk
};

// Throws UsageError (one line) when `given` is not an existing block device.
BlockDeviceInfo inspect_block_device(const std::string& given, const std::string& option);

// Every reason not to write to it, each one line ("mounted at /mnt/x", ...).
std::vector<std::string> device_write_hazards(const BlockDeviceInfo& dev);

// Throws UsageError listing the hazards and how to override, unless `forced`
// names the same device (after resolving symlinks). Prints which device is
// meant when the name given was a symlink. Returns true when `forced` names it.
bool require_writable_device(const BlockDeviceInfo& dev, const std::vector<std::string>& forced,
                             const std::string& option);

// Erases every filesystem, RAID and partition-table signature libblkid finds
// on the device (what wipefs -a does).
void wipe_signatures(const std::string& device);

}  // namespace diorace
