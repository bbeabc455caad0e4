// SPDX-License-Identifier: GPL-2.0-or-later
// Hang oracle support: a snapshot of every process in a process group (state,
// wchan, kernel stacks of every thread), taken when an iteration's deadline
// passes, before the group is killed.
#pragma once
#include <sys/types.h>

#include <string>

#include <nlohmann/json.hpp>

namespace diorace {

struct HangSnapshot {
  nlohmann::json processes = nlohmann::json::array();
  std::string text;  // human-readable
  bool any_d_state = false;
  // Every task seen had exited (state Z or X: a zombie its parent has not
  // reaped yet), or none was left: the group finished, nothing is hung.
  bool all_exited = true;
};

HangSnapshot snapshot_process_group(pid_t pgid);
// Threads of the group that are stopped (state T: SIGSTOP, a debugger's
// stop; t: a tracer's stop) or frozen by the cgroup freezer, as one line;
// empty when none. Such a task is not hung: someone outside the kernel holds
// it, and the hang deadlines wait for it.
std::string stopped_tasks(pid_t pgid);
// Processes of the group still present (after a kill), with their states.
std::string survivors(pid_t pgid, bool& any_d_state);

}  // namespace diorace
