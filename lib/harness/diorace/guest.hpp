// SPDX-License-Identifier: GPL-2.0-or-later
// The guest side of the VM runner: what the static diorace does inside the
// initramfs (`diorace guest-run`).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace diorace {

// Guest side (called by the initramfs init as `diorace guest-run`): mounts
// the scratch disk, announces itself on the result disk and returns the
// argument vector for `run`.
struct GuestPlan {
  std::vector<std::string> run_args;
  std::string result_dev;   // where the run record goes (a virtio disk)
  std::string scratch_dev;  // the scratch disk on the bus under test (/dev/vda, /dev/nvme0n1, /dev/sda)
  std::string device;       // --guest-device: the cases' --device (the disk or its partition), else ""
  std::string work_dir;     // the cases' directory (the mounted scratch disk, or /tmp with a device)
  bool exec = false;  // `exec`: run a staged program instead of cases (benchmarks)
};
// The guest side of `exec [--detect REGEX] [--background-readers N] [--limit S]
// -- PROGRAM ARGS...`: runs PROGRAM (a --stage'd file, or a busybox applet)
// in the cases' directory (environment: DIORACE_SCRATCH_DISK, DIORACE_DEVICE) with N background O_DIRECT readers of the scratch
// disk (FACTS.md: what the original forkscrew needs), notes when its output
// first matches REGEX, and reports exit status, wall time and time to
// detection on the result disk. Returns 1 when it detected, else 0.
int guest_exec(const GuestPlan& plan);

// The exec options, parsed (host and guest).
struct ExecSpec {
  std::string detect;
  std::optional<int> detect_exit;  // this exit status (128+signal) also means detected, at exit
  unsigned background_readers = 0;
  double limit_s = 600;
  std::vector<std::string> argv;
};
ExecSpec parse_exec_args(const std::vector<std::string>& args);
GuestPlan guest_prepare();
// Records a run that ended without its own document (usage error) and
// unmounts the scratch disk.
void guest_finish(const GuestPlan& plan, int code, const std::string& error);

}  // namespace diorace
