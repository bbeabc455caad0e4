// SPDX-License-Identifier: GPL-2.0-or-later
// What a run is asked to do: the typed options of `run` (RunOptions) and
// where its results go (ReportTargets). The runner, the case process and
// the command line all take these; none of them needs the others for it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace diorace {

// Where results go: the store and the report files. `run`, `vm` and
// `results export` take the same options for them.
struct ReportTargets {
  std::string store;                            // "" : the default store, "none" : no store
  std::string junit, ktap, kcidb, jsonl, html;  // report files, "" for none
  std::string origin = "diorace";               // KCIDB origin
  bool any_file() const { return !junit.empty() || !ktap.empty() || !kcidb.empty() || !jsonl.empty() || !html.empty(); }
};
struct RunOptions {
  std::vector<std::string> cases;  // names, or "all"
  std::string dir;                 // target directory
  std::string device;              // --device: fixtures on this block device
  std::string scratch_device;      // --scratch-device: for cases that make filesystems
  std::vector<std::string> force_device;  // devices the user confirmed may be overwritten
  bool read_only = false;          // --read-only: the device is opened read-only, nothing written
  std::string fstype, mkfs_options;
  std::optional<double> duration_s;
  std::optional<uint64_t> iterations;
  std::optional<uint64_t> seed;
  std::vector<std::pair<std::string, std::string>> params;
  bool keep_going = false;
  std::string json_path;  // "" for none; a block device is written in place
  std::optional<double> iteration_timeout_s;
  std::string kconfig_path;
  std::vector<std::string> kmsg_ignore;
  bool quiet = false;
  bool strict_kmsg = false;  // any detector report fails the case, related or not
  bool wait_lock = false;    // --wait-lock: wait for a run holding the same --dir or device
  std::string command;       // the command line, recorded with the run
  std::string config_path;   // the config file read (--config or $DIORACE_CONFIG), if any
  // Result store and report files: handled by the program (the static guest
  // binary has neither; the VM runner stores and reports on the host).
  ReportTargets reports;
};

}  // namespace diorace
