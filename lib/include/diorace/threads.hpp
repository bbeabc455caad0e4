// SPDX-License-Identifier: GPL-2.0-or-later
// Threads of a case. Creating one can fail for reasons of the environment
// (a pids cgroup's pids.max, RLIMIT_NPROC, an address-space limit: EAGAIN or
// ENOMEM from clone/mmap): that is ERROR "cannot create thread", at once,
// never a case waiting forever at a barrier its missing threads would have
// reached.
#pragma once
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "diorace/error.hpp"

namespace diorace {

// std::thread(f), with a creation failure turned into EnvironmentError.
template <class F>
[[nodiscard]] std::thread start_thread(F&& f) {
  try {
    return std::thread(std::forward<F>(f));
  } catch (const std::system_error& e) {
    throw EnvironmentError("cannot create thread: " + e.code().message() +
                           " (a pids or process limit, or the address space: the environment, not the kernel)");
  }
}

// Threads joined when the group goes out of scope, also when creating one of
// them threw half-way (a plain vector of std::thread would terminate).
class JoinedThreads {
 public:
  JoinedThreads() = default;
  JoinedThreads(const JoinedThreads&) = delete;
  JoinedThreads& operator=(const JoinedThreads&) = delete;
  ~JoinedThreads() { join(); }
  template <class F>
  void start(F&& f) {
    threads_.push_back(start_thread(std::forward<F>(f)));
  }
  void join() noexcept {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
  }
  size_t size() const noexcept { return threads_.size(); }

 private:
  std::vector<std::thread> threads_;
};

}  // namespace diorace
