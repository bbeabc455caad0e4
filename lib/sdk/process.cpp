// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"

namespace diorace {

unsigned long long process_start_time(int pid) noexcept {
  std::string stat;
  if (!try_read_file("/proc/" + std::to_string(pid) + "/stat", stat)) return 0;
  // The command name may hold spaces and parentheses: fields count from the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream is(stat.substr(close + 1));
  std::string field;
  // Field 3 (state) is the first after ')'; the start time is field 22.
  for (int i = 3; i < 22 && is >> field; ++i) {
  }
  unsigned long long start = 0;
  is >> start;
  return start;
}

std::string describe_wait_status(int st) {
  if (WIFSIGNALED(st)) return fmt::format("killed by signal {} ({})", WTERMSIG(st), strsignal(WTERMSIG(st)));
  if (!WIFEXITED(st)) return fmt::format("wait status 0x{:x}", st);
  const int code = WEXITSTATUS(st);
  if (code == 125) return "exited with 125 (its body threw, or its parent was gone: see its message above)";
  if (code == 127) return "exited with 127 (the program could not be run)";
  return fmt::format("exited with {}", code);
}

int exit_code_of(int st) noexcept {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

bool have_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

Pipe Pipe::make() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

ChildProcess spawn(const SpawnOptions& o) {
  // Prepared before the fork: the child of a multi-threaded process may
  // only make async-signal-safe calls before exec.
  std::vector<char*> args;
  for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string exec_failed = o.argv.empty() ? "" : "cannot run " + o.argv[0] + ": exec failed\n";
  const pid_t parent = ::getpid();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    if (o.die_with_parent) {
      (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(125);  // the parent died before the setting took
    }
    if (o.new_group) ::setpgid(0, 0);
    if (o.stdin_fd >= 0) ::dup2(o.stdin_fd, 0);
    if (o.stdout_fd >= 0) ::dup2(o.stdout_fd, 1);
    if (o.stderr_fd >= 0) ::dup2(o.stderr_fd, 2);
    if (o.argv.empty()) {
      int code = 125;
      try {
        if (o.body) code = o.body();
      } catch (const std::exception& e) {
        // The parent reads only the wait status: say why here.
        std::fprintf(stderr, "diorace: child process: %s\n", e.what());
      } catch (...) {
      }
      ::_exit(code);
    }
    ::execvp(args[0], args.data());
    (void)!::write(2, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  if (o.new_group) ::setpgid(pid, pid);  // no window in which a group kill misses it
  return ChildProcess(pid);
}

namespace {
volatile sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }
}  // namespace

void stop_on_signals() {
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;  // no SA_RESTART: a blocking call returns EINTR
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

bool stop_requested() noexcept { return g_stop != 0; }

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                          const std::string& input) {
  auto out = Pipe::make();
  auto in = Pipe::make();
  // A helper (mkfs, mount, qemu) dies with the process that waits for it.
  ChildProcess child = spawn({.argv = argv, .stdin_fd = in.read.get(), .stdout_fd = out.write.get(),
                              .stderr_fd = out.write.get()});
  out.write = UniqueFd();
  in.read = UniqueFd();
  if (!input.empty()) (void)!::write(in.write.get(), input.data(), input.size());
  in.write = UniqueFd();
  CommandResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  for (;;) {
    if (g_stop) {
      r.interrupted = true;
      break;
    }
    int wait_ms = -1;
    if (timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        r.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{out.read.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, wait_ms);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue;
    ssize_t n = ::read(out.read.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  out.read = UniqueFd();
  if (r.timed_out || r.interrupted) {
    child.kill_and_reap();
    r.status = 128 + SIGKILL;
  } else {
    r.status = exit_code_of(child.wait());
  }
  return r;
}

std::optional<int> ChildProcess::try_wait() noexcept {
  if (pid_ < 0) return std::nullopt;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return st;
  }
  return std::nullopt;
}

int ChildProcess::wait() noexcept {
  if (pid_ < 0) return 0;
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return st;
}

void ChildProcess::kill_and_reap() noexcept {
  if (pid_ < 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  wait();
}

}  // namespace diorace
