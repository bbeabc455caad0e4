// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/engine.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <vector>

#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "diorace/fd.hpp"

namespace diorace {

extern const EngineOps psync_engine;
extern const EngineOps libaio_engine;
extern const EngineOps uring_engine;

std::string check_engine_ops(const EngineOps& ops) {
  if (!ops.name || !*ops.name) return "engine has no name";
  if (!ops.description) return std::string(ops.name) + ": no description";
  if (!ops.open || !ops.submit || !ops.reap || !ops.close) return std::string(ops.name) + ": missing operation";
  if (bool(ops.caps & kCapIowqLimits) != bool(ops.set_max_workers))
    return std::string(ops.name) + ": set_max_workers and kCapIowqLimits disagree";
  if (bool(ops.caps & kCapEventfd) != bool(ops.set_eventfd))
    return std::string(ops.name) + ": set_eventfd and kCapEventfd disagree";
  if (bool(ops.caps & kCapCancel) != bool(ops.cancel)) return std::string(ops.name) + ": cancel and kCapCancel disagree";
  return {};
}

std::span<const EngineOps* const> engines() {
  static const EngineOps* const table[] = {&psync_engine, &libaio_engine, &uring_engine};
  static const bool checked = [] {
    for (auto* e : table)
      if (auto err = check_engine_ops(*e); !err.empty()) throw std::logic_error("invalid engine table: " + err);
    return true;
  }();
  (void)checked;
  return table;
}

const EngineOps* find_engine(std::string_view name) {
  for (auto* e : engines())
    if (name == e->name) return e;
  return nullptr;
}

// In-flight reads, tracked only while fault injection is on. In "drop" mode
// the buffer is snapshotted at submission and restored on completion, as if
// the DMA had gone to a page the process no longer maps; "flip" changes a byte.
struct Engine::Pending {
  std::unordered_map<uint64_t, std::pair<IoRequest, std::string>> reads;
};

Engine Engine::open(std::string_view name, const EngineOptions& opts) {
  const EngineOps* ops = find_engine(name);
  if (!ops) throw UsageError("unknown I/O engine '" + std::string(name) + "'");
  if (opts.fixed_buffers && !(ops->caps & kCapFixedBuffers))
    throw UsageError(std::string(name) + " has no registered buffers");
  if (opts.force_async && !(ops->caps & kCapForceAsync)) throw UsageError(std::string(name) + " cannot force async");
  if (opts.sqpoll && !(ops->caps & kCapSqpoll)) throw UsageError(std::string(name) + " has no SQPOLL");
  if (opts.iopoll && !(ops->caps & kCapIopoll)) throw UsageError(std::string(name) + " has no IOPOLL");
  void* state = nullptr;
  int ret = ops->open(opts, &state);
  if (ret < 0) {
    std::string what = std::string(name) + " set-up failed: " + std::strerror(-ret);
    if (is_unsupported_errno(-ret) || ret == -ENOMEM) throw SkipError(what);
    throw_errno(-ret, std::string(name) + " set-up");
  }
  Engine e(ops, state);
  if (fault_config().mode == FaultMode::flip || fault_config().mode == FaultMode::drop)
    e.pending_ = std::make_unique<Pending>();
  return e;
}

std::optional<std::string> engine_unavailable(std::string_view name, const EngineOptions& opts) {
  try {
    auto e = Engine::open(name, opts);
  } catch (const SkipError& e) {
    return std::string(e.what());
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

Engine::Engine() noexcept = default;
Engine::Engine(const EngineOps* ops, void* state) noexcept : ops_(ops), state_(state) {}

Engine::Engine(Engine&& o) noexcept
    : ops_(std::exchange(o.ops_, nullptr)),
      state_(std::exchange(o.state_, nullptr)),
      completed_(o.completed_),
      pending_(std::move(o.pending_)),
      backlog_(std::move(o.backlog_)) {}

Engine& Engine::operator=(Engine&& o) noexcept {
  if (this != &o) {
    if (ops_ && state_) ops_->close(state_);
    ops_ = std::exchange(o.ops_, nullptr);
    state_ = std::exchange(o.state_, nullptr);
    completed_ = o.completed_;
    pending_ = std::move(o.pending_);
    backlog_ = std::move(o.backlog_);
  }
  return *this;
}

Engine::~Engine() {
  if (ops_ && state_) ops_->close(state_);
}

void Engine::submit(std::span<const IoRequest> reqs) {
  if (pending_)
    for (const auto& r : reqs)
      if (!r.write)
        pending_->reads[r.user] = {
            r, fault_config().mode == FaultMode::drop ? std::string(static_cast<const char*>(r.buf), r.len) : ""};
  // Fixtures on a block device: requests address the fixture from 0.
  std::vector<IoRequest> translated;
  if (any_fd_windows()) {
    translated.assign(reqs.begin(), reqs.end());
    for (auto& r : translated)
      if (r.fd >= 0 && !r.nop) r.offset = fd_window_offset(r.fd, r.offset, r.len);
    reqs = translated;
  }
  size_t done = 0;
  auto stalled_since = std::chrono::steady_clock::now();
  while (done < reqs.size()) {
    int n = ops_->submit(state_, reqs.data() + done, static_cast<unsigned>(reqs.size() - done));
    if (n == -EINTR) continue;
    if (n == -EAGAIN || n == -EBUSY) {
      // The queue is full: make room by reaping what has completed (kept
      // for the caller's next reap), instead of spinning until the hang
      // oracle fires on a kernel that did nothing wrong.
      IoCompletion c[64];
      const unsigned got = pull(1, c, 64, 10);
      backlog_.insert(backlog_.end(), c, c + got);
      if (got)
        stalled_since = std::chrono::steady_clock::now();
      else if (std::chrono::steady_clock::now() - stalled_since > std::chrono::seconds(60))
        throw_errno(-n, std::string(ops_->name) + " submit: the queue stayed full for 60 s with nothing completing");
      continue;
    }
    if (n < 0) throw_errno(-n, std::string(ops_->name) + " submit");
    done += static_cast<size_t>(n);
    stalled_since = std::chrono::steady_clock::now();
  }
}

unsigned Engine::reap(unsigned min, std::span<IoCompletion> out, int timeout_ms) {
  // Completions reaped while a submission waited for room come first.
  unsigned k = 0;
  while (k < out.size() && !backlog_.empty()) {
    out[k++] = backlog_.front();
    backlog_.pop_front();
  }
  if (k > 0 && k >= min) return k;
  return k + pull(min - k, out.data() + k, static_cast<unsigned>(out.size()) - k, timeout_ms);
}

unsigned Engine::pull(unsigned min, IoCompletion* out, unsigned max, int timeout_ms) {
  int n;
  do {
    n = ops_->reap(state_, min, out, max, timeout_ms);
  } while (n == -EINTR);
  if (n == -ETIME || n == -EAGAIN) return 0;
  if (n < 0) throw_errno(-n, std::string(ops_->name) + " reap");
  completed_ += static_cast<unsigned>(n);
  if (pending_) {
    for (int i = 0; i < n; ++i) {
      const auto& c = out[i];
      auto it = pending_->reads.find(c.user);
      if (it == pending_->reads.end()) continue;
      auto& [req, snapshot] = it->second;
      if (c.res > 0 && fault_should_fire()) {
        if (fault_config().mode == FaultMode::drop)
          std::memcpy(req.buf, snapshot.data(), snapshot.size());
        else
          fault_flip(req.buf, static_cast<size_t>(c.res));
      }
      pending_->reads.erase(it);
    }
  }
  return static_cast<unsigned>(n);
}

int Engine::set_max_workers(unsigned bounded, unsigned unbounded) {
  if (!has(kCapIowqLimits)) throw UsageError(std::string(ops_->name) + " has no io-wq worker limits");
  return ops_->set_max_workers(state_, bounded, unbounded);
}

int Engine::set_eventfd(int efd) {
  if (!has(kCapEventfd)) throw UsageError(std::string(ops_->name) + " cannot signal an eventfd");
  return ops_->set_eventfd(state_, efd);
}

int Engine::cancel(uint64_t user) {
  if (!has(kCapCancel)) throw UsageError(std::string(ops_->name) + " cannot cancel");
  return ops_->cancel(state_, user);
}

int64_t Engine::run_one(const IoRequest& req) {
  submit({&req, 1});
  IoCompletion c;
  while (reap(1, {&c, 1}) == 0) {
  }
  return c.res;
}

}  // namespace diorace
