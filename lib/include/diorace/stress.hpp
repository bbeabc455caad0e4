// SPDX-License-Identifier: GPL-2.0-or-later
// Background stress threads for cases whose load runs continuously (io-wq
// churn, AIO queues): the threads report corruption or an error here, and
// each iteration of the case is one `period` of that load, ending early at
// the first finding.
#pragma once
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "diorace/pattern.hpp"

namespace diorace {

struct CaseContext;

class StressThreads {
 public:
  StressThreads() = default;
  StressThreads(const StressThreads&) = delete;
  StressThreads& operator=(const StressThreads&) = delete;
  ~StressThreads() { stop(); }

  // Starts `body` on a new thread; an exception it throws ends the case as
  // an ERROR at the next iteration.
  void spawn(std::function<void()> body);
  [[nodiscard]] bool stopping() const noexcept { return stop_.load(std::memory_order_relaxed); }
  void report(Corruption c);
  // One iteration: waits `period` (or until a finding or a stop request) and
  // returns what the threads found; rethrows a thread's exception.
  std::vector<Corruption> collect(const CaseContext& ctx, std::chrono::milliseconds period);
  void stop() noexcept;

 private:
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Corruption> found_;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

}  // namespace diorace
