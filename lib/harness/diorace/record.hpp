// SPDX-License-Identifier: GPL-2.0-or-later
// The run record: one type from the case to the reporters. The guest writes
// it to its result disk, `run --json` and `vm --json` write it, the store
// keeps it and gives it back, and every report reads it; its JSON form is
// the one codec in src/codec.cpp. A new result field is one edit in a type
// here and one in the codec.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "diorace/outcome.hpp"

namespace diorace {

// The kernel under test and the machine it runs on.
struct KernelIdentity {
  std::string release, version, machine, host, cmdline;
};
struct KconfigIdentity {
  std::string source, digest;                    // "" when the config is unknown
  std::map<std::string, std::string> detectors;  // CONFIG_ name -> value ("n" when unset)
};
struct SystemIdentity {
  KernelIdentity kernel;
  KconfigIdentity kconfig;
  std::string diorace_version;
};

// Where the cases did their I/O.
struct TargetInfo {
  std::string kind;  // "dir", "device"
  std::string dir, fs, device, scratch_device;
  bool scratch = false;                         // a scratch directory diorace made and removes
  nlohmann::json device_info = nlohmann::json::object();  // the device's model, size, holders (device.hpp)
};

// The run as a whole: its identity across machines and stores.
struct RunInfo {
  std::optional<int64_t> id;  // the store's run id; none in a document written without a store
  std::string uid;            // unique across machines: the KCIDB test ids derive from it
  std::string started_at, finished_at;  // ISO 8601 UTC
  std::string status = "INCOMPLETE";     // INCOMPLETE, COMPLETE, REFUSED, ERROR
  std::string mode = "host";             // host | vm
  std::string label;                     // vm: the --deb package or --kernel image
  std::string command;                   // the command line that made the run
};

// A VM run as the host saw it.
struct VmInfo {
  std::string image, deb, accel, fs, console_log, kconfig, verdict;
  std::string disk_bus = "virtio";  // the scratch disk's controller
  std::string guest_device;         // "" | disk | partition (--guest-device)
  unsigned cpus = 0, mem_mib = 0;
  uint64_t throttle_bps = 0;
  double wall_s = 0;
  bool timed_out = false;
};

// `vm -- exec PROGRAM`: a program other than diorace run in the guest.
struct ExecInfo {
  std::vector<std::string> argv;
  std::string detect;                   // the regex that means detection
  std::optional<double> detect_s;       // when it matched (or the program exited so)
  double wall_s = 0;
  bool timed_out = false;
  unsigned background_readers = 0;
  int status = -1;
  std::string output_tail;
};

struct RunRecord {
  RunInfo run;
  bool guest_started = false;  // written by a VM guest (the host then knows it booted)
  bool complete = false;
  std::optional<int> exit_code;
  std::string running;  // the case in progress ("name[variant]"): a crash is charged to it
  std::string error;    // why a run ended with no case (refused, broken)
  SystemIdentity system;
  TargetInfo target;
  std::optional<uint64_t> seed;
  bool fault_injected = false;
  std::vector<CaseResult> cases;
  std::optional<VmInfo> vm;
  std::optional<ExecInfo> exec;
};

void to_json(nlohmann::json& j, const RunRecord& r);
void from_json(const nlohmann::json& j, RunRecord& r);
// The record without its cases (what the store keeps beside their rows):
// to_json is this plus "cases".
nlohmann::json run_header_json(const RunRecord& r);

// A unique id for a new run: host, time and process, hashed.
std::string new_run_uid();

}  // namespace diorace
