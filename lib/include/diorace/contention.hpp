// SPDX-License-Identifier: GPL-2.0-or-later
// Device contention: background O_DIRECT readers that keep the device queue
// busy so that a racing request stays in flight longer. forkscrew needs this:
// without it its AIO completes before the fork (see FACTS.md).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "diorace/fd.hpp"

namespace diorace {

struct ContentionOptions {
  std::string path;          // a file (or device) to read with O_DIRECT
  unsigned readers = 2;      // threads
  unsigned depth = 8;        // requests in flight per reader (libaio)
  uint32_t block = 1 << 20;  // bytes per read
  uint64_t span = 0;         // bytes of the file to cycle over (0: whole file)
  std::function<UniqueFd()> opener;  // opens the fixture (a device region); else path is opened
};

struct CaseContext;
struct ParamSpec;

// The parameters every case with device contention declares, so they read
// the same everywhere: contention_readers, _depth, _block_kib, _file_mib.
// The defaults (2 readers x 4 x 256 KiB in flight) keep a victim read queued
// for ~100 ms on a 20 MB/s device, long enough for a fork to land inside it,
// without making each iteration slow.
std::vector<ParamSpec> contention_params(unsigned readers = 2, unsigned depth = 4, unsigned block_kib = 256);
// Writes the contention fixture and starts the readers, or returns nullptr
// when contention_readers is 0.
std::unique_ptr<class Contention> start_contention(CaseContext& ctx);

class Contention {
 public:
  explicit Contention(ContentionOptions opts) : opts_(std::move(opts)) {}
  Contention(const Contention&) = delete;
  Contention& operator=(const Contention&) = delete;
  ~Contention() { stop(); }

  void start();  // throws when the file cannot be opened with O_DIRECT
  void stop() noexcept;
  [[nodiscard]] uint64_t ios() const noexcept { return ios_.load(std::memory_order_relaxed); }
  [[nodiscard]] bool running() const noexcept { return !threads_.empty(); }

 private:
  void loop(int fd, uint64_t span, unsigned index) noexcept;
  ContentionOptions opts_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ios_{0};
  std::vector<std::thread> threads_;
  std::vector<UniqueFd> fds_;  // one per reader thread, which uses it by number
};

}  // namespace diorace
