// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel-in-VM runner: boots any kernel image under qemu with a busybox
// initramfs that holds the static diorace, runs cases in the guest on a fresh
// scratch disk (virtio-blk, or an emulated NVMe, virtio-scsi or AHCI disk:
// the guest kernel's own drivers), and brings the results back structured
// through a virtio-blk result disk (the guest writes its run record there).
//
// Verdicts added by the host: guest panic/oops -> FAIL crash; guest not done
// before --timeout -> FAIL hang; guest never reached the test -> exit 3.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/record.hpp"

namespace diorace {

struct VmOptions {
  std::string kernel;   // image path
  std::string deb;      // or a Debian package name
  std::string modules;  // modules directory ("" : none, or from the package)
  std::string kconfig;  // config file ("" : found beside the image)
  unsigned cpus = 2;
  unsigned mem_mib = 2048;
  std::string accel = "auto";  // auto|kvm|tcg
  std::string fs = "ext4";     // ext4|xfs
  std::string disk_bus = "virtio";  // the scratch disk's controller: virtio|nvme|scsi|sata
  std::string guest_device;         // "" | disk | partition: the cases run with --device on the scratch disk
  int64_t disk_size = 1LL << 30;
  std::optional<uint64_t> throttle_bps;  // unset: the cases' device profile
  double timeout_s = 900;
  std::string console_log;
  std::string json_path;
  std::string append;
  std::vector<std::string> guest_args;  // "run", CASE..., OPTIONS... (or "exec", ...)
  std::vector<std::string> stage;       // host files copied into the guest's /staged
  std::string command;                  // the command line, recorded with the run
  unsigned artifact_retries = 2;        // boots again after an emulator artifact (emulator.hpp)
};

// A kernel named by a user: an image path, or a Debian package name
// (linux-image-...): sets o.kernel or o.deb; throws UsageError otherwise.
void set_vm_kernel(VmOptions& o, const std::string& name);

struct DebianKernel {
  std::string dir, image, modules, config;
};

// The cache for kernels and probes: $DIORACE_CACHE, else
// $XDG_CACHE_HOME/diorace, else ~/.cache/diorace.
std::string cache_dir();
// Downloads (apt-get download) and unpacks (dpkg-deb -x) a kernel package
// into the cache, once; throws UsageError for a bad name, SetupError when it
// cannot be fetched.
DebianKernel fetch_debian_kernel(const std::string& package);

// The guest's initramfs for a LAVA qemu job (diorace lava-job): the static
// diorace, busybox, the kernel's modules, and an init that gives LAVA a
// shell prompt ("diorace-guest# ") instead of running cases. Written to
// `out` (cpio newc); returns the kernel image to deploy with it.
std::string build_lava_initramfs(const VmOptions& opts, const std::string& out);

// Console logs the VM runner names itself (no --console-log) go to /var/tmp
// as diorace-console-SECONDS-PID.log; the newest `keep` are kept, older ones
// removed. Returns how many were removed.
size_t prune_console_logs(const std::string& dir, size_t keep);
constexpr size_t kConsoleLogsKept = 50;

// record_out: the run with the guest's identity, its cases and the host's
// verdicts (what --json writes). Its run part, when it has a uid on entry,
// is kept (a run the caller began in the store).
int run_vm(const VmOptions& opts, RunRecord* record_out = nullptr);

// Module handling, exposed for tests.
struct ModuleFile {
  std::string name;  // normalised (dashes to underscores)
  std::string path;
};
std::vector<ModuleFile> index_modules(const std::string& dir);
// The "depends=" field of a module's .modinfo (decompressed ELF bytes).
std::vector<std::string> module_depends(const std::string& elf_bytes);
// The "softdep=pre: ..." names (e.g. ext4's crc32c): loaded first when present.
std::vector<std::string> module_softdeps_pre(const std::string& elf_bytes);
// Reads a module file, decompressing .xz/.zst/.gz with the system tools.
std::string read_module(const std::string& path);

}  // namespace diorace
