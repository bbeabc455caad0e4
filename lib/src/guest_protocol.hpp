// What the VM host and the guest agree on: where the guest finds its plan
// (written into the initramfs by the host) and which disks are which.
#pragma once

namespace diorace::detail {

inline constexpr const char* kGuestPlan = "/guest.json";  // {"args": [...], "fs": "ext4"}
inline constexpr const char* kResultDev = "/dev/vdb";      // the run record, NUL-terminated
inline constexpr const char* kScratchDev = "/dev/vda";     // the scratch disk the cases use

}  // namespace diorace::detail
