// SPDX-License-Identifier: GPL-2.0-or-later
// What the VM host and the guest agree on: where the guest finds its plan
// (written into the initramfs by the host) and which disks are which.
#pragma once
#include <string>
#include <string_view>

namespace diorace::detail {

// {"args": [...], "fs": "ext4", "scratch": DEV, "result": DEV, "device": DEV or ""}
inline constexpr const char* kGuestPlan = "/guest.json";
// The devices init waits for, one per line.
inline constexpr const char* kGuestDevices = "/devices";

// A scratch-disk controller: how qemu attaches the disk, the guest's name
// for it, and the driver the guest kernel needs (with its config symbol).
struct DiskBus {
  std::string_view name;          // --disk-bus
  std::string_view scratch;       // the guest's name for the scratch disk
  std::string_view result;        // the result disk (virtio-blk; vdb behind a virtio scratch disk)
  std::string_view partition;     // the scratch disk's first partition
  std::string_view controller;    // qemu -device for the controller, "" for none
  std::string_view disk_device;   // qemu -device for the disk, "" for if=virtio
  std::string_view modules[2];    // guest modules the bus needs (beyond virtio_pci)
  std::string_view configs[2];    // the config symbols that build them
};

inline constexpr DiskBus kDiskBuses[] = {
    {"virtio", "/dev/vda", "/dev/vdb", "/dev/vda1", "", "", {"virtio_blk", ""}, {"CONFIG_VIRTIO_BLK", ""}},
    {"nvme", "/dev/nvme0n1", "/dev/vda", "/dev/nvme0n1p1", "", "nvme,serial=diorace0",
     {"nvme", ""}, {"CONFIG_BLK_DEV_NVME", ""}},
    {"scsi", "/dev/sda", "/dev/vda", "/dev/sda1", "virtio-scsi-pci,id=ctl0", "scsi-hd,bus=ctl0.0",
     {"virtio_scsi", "sd_mod"}, {"CONFIG_SCSI_VIRTIO", "CONFIG_BLK_DEV_SD"}},
    {"sata", "/dev/sda", "/dev/vda", "/dev/sda1", "ahci,id=ctl0", "ide-hd,bus=ctl0.0",
     {"ahci", "sd_mod"}, {"CONFIG_SATA_AHCI", "CONFIG_BLK_DEV_SD"}},
};

// nullptr for an unknown name.
inline const DiskBus* find_disk_bus(std::string_view name) {
  for (const auto& b : kDiskBuses)
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace diorace::detail
