// SPDX-License-Identifier: GPL-2.0-or-later
// `diorace vm` runs as child processes of this same program, each with its
// own output file and run document: how prove and bisect run VMs side by
// side (--jobs). Each child has its own disks, console log and stored run.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "diorace/process.hpp"
#include "diorace/record.hpp"
#include "diorace/tempdir.hpp"
#include "diorace/vm.hpp"

namespace diorace {

struct VmChild {
  std::vector<std::string> args;  // the `diorace vm` arguments; `--json json` goes first
  std::string json, log;          // its run document and its output (stdout and stderr)
  ChildProcess child;
  int exit_code = -1;
  std::optional<RunRecord> doc;   // the run document, when one came back
};

// The directory for the children's documents and output: /var/tmp/PREFIX*,
// after removing what a killed command of the same kind left there.
OwnedTempDir vm_children_dir(const std::string& prefix);

// Starts c: `diorace vm --json c.json c.args...`, output to c.log.
void start_vm_child(VmChild& c);

// Waits for one child of `running` (by pid) to end: fills its exit code and
// run document, takes it out of `running` and returns it; nullptr when none
// is running.
VmChild* reap_vm_child(std::map<pid_t, VmChild*>& running);

// Runs the children, at most at_once at a time; `ended` is told of each as it
// ends. Returns when all have ended.
void run_vm_children(const std::vector<VmChild*>& children, size_t at_once,
                     const std::function<void(VmChild&)>& ended = {});

// The `diorace vm` arguments that run `guest` (run CASE ...) on o's kernel
// and machine and store the run in store_uri.
std::vector<std::string> vm_child_args(const VmOptions& o, const std::vector<std::string>& guest,
                                       const std::string& store_uri);

// Runs `count` children with the same arguments side by side: their files
// are DIR/boot-N.json and .log, N counting on in `boots`; a line per boot
// as it ends, starting with `who`. The children in the order started.
std::vector<VmChild> run_vm_batch(const std::vector<std::string>& args, size_t count, const std::string& dir,
                                  size_t& boots, const std::string& who);

// --jobs N: 1..64, or a UsageError naming the option; warns (stderr) when
// N VMs of `cpus` vCPUs each exceed this host's cores.
void check_vm_jobs(uint64_t jobs, unsigned cpus);

// The last `lines` lines of a child's output (for an error message).
std::string vm_child_output_tail(const VmChild& c, size_t lines = 5);

}  // namespace diorace
