// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/stress.hpp"
#include "diorace/threads.hpp"

#include "diorace/registry.hpp"

namespace diorace {

void StressThreads::spawn(std::function<void()> body) {
  threads_.push_back(start_thread([this, body = std::move(body)] {
    try {
      body();
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }));
}

void StressThreads::report(Corruption c) {
  std::lock_guard lock(mutex_);
  found_.push_back(std::move(c));
}

std::vector<Corruption> StressThreads::collect(const CaseContext& ctx, std::chrono::milliseconds period) {
  auto until = std::chrono::steady_clock::now() + period;
  while (std::chrono::steady_clock::now() < until && !ctx.stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard lock(mutex_);
    if (!found_.empty() || error_) break;
  }
  std::lock_guard lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  return std::exchange(found_, {});
}

void StressThreads::stop() noexcept {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace diorace
