// Child processes: running helper commands (mkfs, qemu, cpio) and the
// move-only handle that kills and reaps a child it still owns.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace diorace {

struct CommandResult {
  int status = -1;  // exit code, or 128+signal
  std::string output;  // stdout and stderr together
  bool timed_out = false;
  [[nodiscard]] bool ok() const noexcept { return status == 0 && !timed_out; }
};

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

// Encodes a wait status as an exit code: the code, or 128 + signal.
int exit_code_of(int wait_status) noexcept;

}  // namespace diorace
