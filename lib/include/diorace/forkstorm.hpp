// SPDX-License-Identifier: GPL-2.0-or-later
// Fork storms: threads that fork continuously while I/O is in flight. Each
// fork write-protects the parent's anonymous pages, which is what turns an
// in-flight O_DIRECT read into lost data on kernels with the fork-vs-GUP bug.
// Children leave with _exit() (never exit(): that would flush the parent's
// duplicated stdio buffers) and every child is reaped before stop() returns.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>
#include <span>
#include <thread>
#include <vector>

namespace diorace {

enum class ChildAction {
  exit_now,     // _exit(0) at once
  touch_pages,  // read one byte of every page of `touch`, then _exit(0)
};

// Forks one child that performs `action` and leaves with _exit(0). Returns
// the child's pid (the caller reaps it), or -errno.
pid_t fork_child(ChildAction action, std::span<const std::byte> touch = {}) noexcept;
// Reaps a child, retrying EINTR; returns its wait status.
int reap_child(pid_t pid) noexcept;

struct ForkStormOptions {
  unsigned threads = 1;
  ChildAction action = ChildAction::exit_now;
  std::span<const std::byte> touch;  // pages the child reads with touch_pages
  unsigned interval_us = 0;          // pause between forks of one thread
};

class ForkStorm {
 public:
  explicit ForkStorm(ForkStormOptions opts) : opts_(opts) {}
  ForkStorm(const ForkStorm&) = delete;
  ForkStorm& operator=(const ForkStorm&) = delete;
  ~ForkStorm() { stop(); }

  void start();
  // Stops the threads and reaps every child; idempotent, never throws.
  void stop() noexcept;
  [[nodiscard]] uint64_t forks() const noexcept { return forks_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t failures() const noexcept { return fork_failures_.load(std::memory_order_relaxed); }
  [[nodiscard]] double rate_per_second() const noexcept;

 private:
  void loop() noexcept;
  ForkStormOptions opts_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> forks_{0};
  std::atomic<uint64_t> fork_failures_{0};
  std::vector<std::thread> threads_;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point stopped_{};
};

}  // namespace diorace
