// SPDX-License-Identifier: GPL-2.0-or-later
// I/O engines as constant operation tables (fio's ioengine model). Each engine
// is one file under src/engines/ defining one EngineOps; the registry checks a
// table once when it is listed. Thin operations return 0/count or -errno; the
// Engine wrapper converts errors once: set-up failures that mean "not
// supported here" become SkipError, everything else std::system_error.
#pragma once
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace diorace {

enum EngineCap : unsigned {
  kCapAsync = 1u << 0,         // more than one request in flight per context
  kCapFixedBuffers = 1u << 1,  // registered (pinned at registration) buffers
  kCapForceAsync = 1u << 2,    // punt every request to kernel workers (IOSQE_ASYNC)
  kCapSqpoll = 1u << 3,        // kernel submission-queue polling thread
  kCapIowqLimits = 1u << 4,    // io-wq worker limits can be changed (set_max_workers)
  kCapEventfd = 1u << 5,       // completions signal an eventfd (set_eventfd)
  kCapCancel = 1u << 6,        // an in-flight request can be asked to cancel
  kCapIopoll = 1u << 7,        // completions are polled for (IORING_SETUP_IOPOLL), O_DIRECT only
};

struct IoRequest {
  int fd = -1;
  void* buf = nullptr;
  uint32_t len = 0;
  uint64_t offset = 0;
  bool write = false;
  uint64_t user = 0;  // returned in the completion
  bool nop = false;   // no I/O: completes with 0 (io_uring IORING_OP_NOP; at once elsewhere)
};

struct IoCompletion {
  uint64_t user = 0;
  int64_t res = 0;  // bytes or -errno
};

struct EngineOptions {
  unsigned depth = 32;
  bool fixed_buffers = false;
  bool force_async = false;
  bool sqpoll = false;
  bool iopoll = false;
  std::vector<iovec> registered;  // with fixed_buffers: the buffers to register
};

struct EngineOps {
  const char* name;
  const char* description;
  unsigned caps;
  // Creates the engine's private state. 0 or -errno.
  int (*open)(const EngineOptions& opts, void** state);
  // Queues and submits n requests; returns how many were taken, or -errno.
  int (*submit)(void* state, const IoRequest* reqs, unsigned n);
  // Waits for at least min completions (up to max), at most timeout_ms (-1:
  // forever). Returns the number stored in out, or -errno.
  int (*reap)(void* state, unsigned min, IoCompletion* out, unsigned max, int timeout_ms);
  void (*close)(void* state) noexcept;
  // Optional operations, present exactly when the matching capability is.
  int (*set_max_workers)(void* state, unsigned bounded, unsigned unbounded);
  int (*set_eventfd)(void* state, int efd);
  int (*cancel)(void* state, uint64_t user);
};

// All engines, validated; find_engine returns nullptr for an unknown name.
std::span<const EngineOps* const> engines();
const EngineOps* find_engine(std::string_view name);
// Returns an empty string when ops is well formed, else what is wrong.
std::string check_engine_ops(const EngineOps& ops);

// nullopt when the engine can be set up here, else why not (for a SKIP).
std::optional<std::string> engine_unavailable(std::string_view name, const EngineOptions& opts = {});

class Engine {
 public:
  // Throws UsageError for an unknown engine or an option it lacks the
  // capability for, SkipError when the kernel refuses the set-up
  // (ENOSYS/EPERM/EINVAL: e.g. io_uring disabled), system_error otherwise.
  [[nodiscard]] static Engine open(std::string_view name, const EngineOptions& opts = {});
  // An engine that is not open yet (a member set up later); only moving
  // into it, destroying it and the bool test are allowed.
  Engine() noexcept;
  [[nodiscard]] explicit operator bool() const noexcept { return ops_ != nullptr; }
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  ~Engine();

  [[nodiscard]] const EngineOps& ops() const noexcept { return *ops_; }
  // Submits all requests (retrying partial submission); throws on error.
  // When the queue is full it reaps completions to make room and keeps them
  // for the next reap(), so a caller may submit more than the depth.
  void submit(std::span<const IoRequest> reqs);
  // Waits for min..out.size() completions; returns the count (0 on timeout).
  unsigned reap(unsigned min, std::span<IoCompletion> out, int timeout_ms = -1);
  // Submits one request and waits for it; returns bytes or -errno.
  int64_t run_one(const IoRequest& req);
  [[nodiscard]] uint64_t completed() const noexcept { return completed_; }
  [[nodiscard]] bool has(EngineCap cap) const noexcept { return (ops_->caps & cap) != 0; }
  // Optional operations; they throw UsageError when the engine lacks them
  // and return -errno from the kernel otherwise.
  int set_max_workers(unsigned bounded, unsigned unbounded);
  int set_eventfd(int efd);
  int cancel(uint64_t user);

 private:
  Engine(const EngineOps* ops, void* state) noexcept;
  // The engine's own reap, with the completion bookkeeping (fault injection).
  unsigned pull(unsigned min, IoCompletion* out, unsigned max, int timeout_ms);
  const EngineOps* ops_ = nullptr;
  void* state_ = nullptr;
  uint64_t completed_ = 0;
  struct Pending;
  std::unique_ptr<Pending> pending_;  // fault-injection snapshots of reads
  std::deque<IoCompletion> backlog_;  // reaped by submit() while it waited for room
};

}  // namespace diorace
