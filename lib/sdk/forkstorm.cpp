// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/forkstorm.hpp"
#include "diorace/threads.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace diorace {

pid_t fork_child(ChildAction action, std::span<const std::byte> touch) noexcept {
  pid_t pid = ::fork();
  if (pid == 0) {
    (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the case
    if (action == ChildAction::touch_pages) {
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      volatile unsigned char sink = 0;
      for (size_t i = 0; i < touch.size(); i += page) sink = sink + static_cast<unsigned char>(touch[i]);
    }
    ::_exit(0);
  }
  return pid < 0 ? -errno : pid;
}

int reap_child(pid_t pid) noexcept {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}

void ForkStorm::start() {
  if (!threads_.empty()) return;
  stop_.store(false);
  started_ = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < (opts_.threads ? opts_.threads : 1); ++i) threads_.push_back(start_thread([this] { loop(); }));
}

void ForkStorm::stop() noexcept {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  if (!threads_.empty()) stopped_ = std::chrono::steady_clock::now();
  threads_.clear();
}

double ForkStorm::rate_per_second() const noexcept {
  auto end = threads_.empty() && stopped_ != std::chrono::steady_clock::time_point{} ? stopped_
                                                                                   : std::chrono::steady_clock::now();
  double s = std::chrono::duration<double>(end - started_).count();
  return s > 0 ? static_cast<double>(forks()) / s : 0.0;
}

void ForkStorm::loop() noexcept {
  while (!stop_.load(std::memory_order_relaxed)) {
    pid_t pid = fork_child(opts_.action, opts_.touch);
    if (pid < 0) {
      fork_failures_.fetch_add(1, std::memory_order_relaxed);
      ::usleep(1000);  // EAGAIN under pid pressure: back off, keep going
      continue;
    }
    forks_.fetch_add(1, std::memory_order_relaxed);
    reap_child(pid);
    if (opts_.interval_us) ::usleep(opts_.interval_us);
  }
}

}  // namespace diorace
