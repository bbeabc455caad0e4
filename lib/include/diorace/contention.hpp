// Device contention: background O_DIRECT readers that keep the device queue
// busy so that a racing request stays in flight longer. forkscrew needs this:
// without it its AIO completes before the fork (see FACTS.md).
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace diorace {

struct ContentionOptions {
  std::string path;          // a file (or device) to read with O_DIRECT
  unsigned readers = 2;      // threads
  unsigned depth = 8;        // requests in flight per reader (libaio)
  uint32_t block = 1 << 20;  // bytes per read
  uint64_t span = 0;         // bytes of the file to cycle over (0: whole file)
};

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
  std::vector<int> fds_;
};

}  // namespace diorace
