// SPDX-License-Identifier: GPL-2.0-or-later
// libaio: Linux native AIO (io_setup/io_submit/io_getevents).
#include <libaio.h>

#include <cerrno>
#include <ctime>
#include <new>
#include <vector>

#include "diorace/engine.hpp"

namespace diorace {
namespace {

struct AioState {
  io_context_t ctx{};
  int efd = -1;
  unsigned depth = 0;
  unsigned inflight = 0;
  std::vector<iocb> iocbs;       // one per slot
  std::vector<unsigned> free_slots;
};

int aio_open(const EngineOptions& opts, void** state) {
  auto* s = new (std::nothrow) AioState;
  if (!s) return -ENOMEM;
  s->depth = opts.depth ? opts.depth : 1;
  int ret = io_setup(static_cast<int>(s->depth), &s->ctx);
  if (ret < 0) {
    delete s;
    return ret;
  }
  s->iocbs.resize(s->depth);
  for (unsigned i = 0; i < s->depth; ++i) s->free_slots.push_back(s->depth - 1 - i);
  *state = s;
  return 0;
}

int aio_submit(void* state, const IoRequest* reqs, unsigned n) {
  auto* s = static_cast<AioState*>(state);
  if (s->free_slots.empty()) return -EAGAIN;
  for (unsigned i = 0; i < n; ++i)
    if (reqs[i].nop) return -EOPNOTSUPP;  // AIO has no no-op request
  std::vector<iocb*> batch;
  for (unsigned i = 0; i < n && !s->free_slots.empty(); ++i) {
    unsigned slot = s->free_slots.back();
    s->free_slots.pop_back();
    iocb* cb = &s->iocbs[slot];
    const IoRequest& r = reqs[i];
    if (r.write)
      io_prep_pwrite(cb, r.fd, r.buf, r.len, static_cast<long long>(r.offset));
    else
      io_prep_pread(cb, r.fd, r.buf, r.len, static_cast<long long>(r.offset));
    cb->data = reinterpret_cast<void*>(r.user);
    if (s->efd >= 0) io_set_eventfd(cb, s->efd);
    batch.push_back(cb);
  }
  int ret = io_submit(s->ctx, static_cast<long>(batch.size()), batch.data());
  int taken = ret < 0 ? 0 : ret;
  for (size_t i = static_cast<size_t>(taken); i < batch.size(); ++i)
    s->free_slots.push_back(static_cast<unsigned>(batch[i] - s->iocbs.data()));
  s->inflight += static_cast<unsigned>(taken);
  return ret < 0 ? ret : taken;
}

int aio_reap(void* state, unsigned min, IoCompletion* out, unsigned max, int timeout_ms) {
  auto* s = static_cast<AioState*>(state);
  std::vector<io_event> ev(max);
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
  int ret = io_getevents(s->ctx, min, static_cast<long>(max), ev.data(), timeout_ms < 0 ? nullptr : &ts);
  if (ret < 0) return ret;
  for (int i = 0; i < ret; ++i) {
    out[i].user = reinterpret_cast<uint64_t>(ev[static_cast<size_t>(i)].data);
    out[i].res = static_cast<long>(ev[static_cast<size_t>(i)].res);
    s->free_slots.push_back(static_cast<unsigned>(ev[static_cast<size_t>(i)].obj - s->iocbs.data()));
  }
  s->inflight -= static_cast<unsigned>(ret);
  return ret;
}

int aio_set_eventfd(void* state, int efd) {
  static_cast<AioState*>(state)->efd = efd;
  return 0;
}

int aio_cancel(void* state, uint64_t user) {
  auto* s = static_cast<AioState*>(state);
  for (auto& cb : s->iocbs) {
    if (reinterpret_cast<uint64_t>(cb.data) != user) continue;
    io_event ev{};
    return io_cancel(s->ctx, &cb, &ev);  // usually -EINVAL/-EAGAIN: most requests are not cancellable
  }
  return -ENOENT;
}

void aio_close(void* state) noexcept {
  auto* s = static_cast<AioState*>(state);
  io_destroy(s->ctx);  // waits for in-flight requests
  delete s;
}

}  // namespace

extern const EngineOps libaio_engine{
    .name = "libaio",
    .description = "Linux native AIO via libaio",
    .caps = kCapAsync | kCapEventfd | kCapCancel,
    .open = aio_open,
    .submit = aio_submit,
    .reap = aio_reap,
    .close = aio_close,
    .set_max_workers = nullptr,
    .set_eventfd = aio_set_eventfd,
    .cancel = aio_cancel,
};

}  // namespace diorace
