// SPDX-License-Identifier: GPL-2.0-or-later
// Child processes: the one spawn facility (a move-only owner of the child,
// pipes as move-only owners of their ends), running helper commands (mkfs,
// qemu, cpio), and the handle that kills and reaps a child it still owns.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "diorace/fd.hpp"

namespace diorace {

struct CommandResult {
  int status = -1;  // exit code, or 128+signal
  std::string output;  // stdout and stderr together
  bool timed_out = false;
  bool interrupted = false;  // a stop request (stop_on_signals) ended it: the command was killed
  [[nodiscard]] bool ok() const noexcept { return status == 0 && !timed_out && !interrupted; }
};

// From now on SIGINT, SIGTERM and SIGHUP do not end this process at once:
// they are a stop request, which run_command answers by killing its command
// (CommandResult::interrupted), so that the caller can clean up and exit.
// For long commands of the host side (diorace vm: qemu).
void stop_on_signals();
[[nodiscard]] bool stop_requested() noexcept;

// Runs argv (PATH lookup), capturing output; timeout 0 means none. Never throws
// for a failing command; throws std::system_error when it cannot be started.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout = {},
                          const std::string& input = {});
// True when argv[0] is found on PATH.
bool have_program(const std::string& name);

class ChildProcess {
 public:
  ChildProcess() noexcept = default;
  explicit ChildProcess(pid_t pid) noexcept : pid_(pid) {}
  ChildProcess(ChildProcess&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  ChildProcess& operator=(ChildProcess&& o) noexcept {
    if (this != &o) {
      kill_and_reap();
      pid_ = std::exchange(o.pid_, -1);
    }
    return *this;
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { kill_and_reap(); }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Non-blocking: the wait status once the child has exited.
  std::optional<int> try_wait() noexcept;
  int wait() noexcept;
  // SIGKILL to the child's process group (it leads one) and reap it.
  void kill_and_reap() noexcept;
  // Gives up ownership (a child stuck in D state cannot be reaped).
  pid_t release() noexcept { return std::exchange(pid_, -1); }

 private:
  pid_t pid_ = -1;
};

// A pipe (O_CLOEXEC), both ends owned.
struct Pipe {
  UniqueFd read, write;
  [[nodiscard]] static Pipe make();
};

struct SpawnOptions {
  std::vector<std::string> argv;  // exec this (PATH lookup); or, when empty, run body in the child
  std::function<int()> body;      // the child's work; its return value is the exit code
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;  // dup2'd in the child; -1: inherited
  bool new_group = true;          // leads its own process group (killed as one)
  bool die_with_parent = true;    // PR_SET_PDEATHSIG SIGKILL, checked after it is set
};
// Forks (and execs); every fd the parent opened with O_CLOEXEC stays out of
// an exec'd child. Throws std::system_error when the fork fails; the child
// never returns into the caller's code (an exec failure exits 127, a body's
// exception 125).
[[nodiscard]] ChildProcess spawn(const SpawnOptions& opts);

// Encodes a wait status as an exit code: the code, or 128 + signal.
int exit_code_of(int wait_status) noexcept;
// A wait status for a person: "exited with 3", "killed by signal 9 (Killed)",
// and what diorace's own codes 125 and 127 mean.
std::string describe_wait_status(int wait_status);

// The start time of a process (clock ticks since boot, /proc/PID/stat field
// 22), 0 when there is no such process: with the pid it names one process.
unsigned long long process_start_time(int pid) noexcept;

}  // namespace diorace
