// SPDX-License-Identifier: GPL-2.0-or-later
// io_uring via liburing: plain buffers, registered (fixed) buffers,
// IOSQE_ASYNC (every request punted to io-wq workers) and SQPOLL.
#include <liburing.h>

#include <cerrno>
#include <cstdint>
#include <new>
#include <vector>

#include "diorace/engine.hpp"

namespace diorace {
namespace {

struct UringState {
  io_uring ring{};
  bool fixed = false;
  bool force_async = false;
  std::vector<iovec> registered;
};

int uring_open(const EngineOptions& opts, void** state) {
  auto* s = new (std::nothrow) UringState;
  if (!s) return -ENOMEM;
  io_uring_params p{};
  if (opts.sqpoll) {
    p.flags |= IORING_SETUP_SQPOLL;
    p.sq_thread_idle = 100;
  }
  if (opts.iopoll) p.flags |= IORING_SETUP_IOPOLL;
  int ret = io_uring_queue_init_params(opts.depth ? opts.depth : 1, &s->ring, &p);
  if (ret < 0) {
    delete s;
    return ret;
  }
  if (opts.fixed_buffers) {
    ret = io_uring_register_buffers(&s->ring, opts.registered.data(), static_cast<unsigned>(opts.registered.size()));
    if (ret < 0) {
      io_uring_queue_exit(&s->ring);
      delete s;
      return ret;
    }
    s->fixed = true;
    s->registered = opts.registered;
  }
  s->force_async = opts.force_async;
  *state = s;
  return 0;
}

int buffer_index(const UringState& s, const IoRequest& r) {
  auto p = reinterpret_cast<uintptr_t>(r.buf);
  for (size_t i = 0; i < s.registered.size(); ++i) {
    auto b = reinterpret_cast<uintptr_t>(s.registered[i].iov_base);
    if (p >= b && p + r.len <= b + s.registered[i].iov_len) return static_cast<int>(i);
  }
  return -1;
}

int uring_submit(void* state, const IoRequest* reqs, unsigned n) {
  auto* s = static_cast<UringState*>(state);
  unsigned queued = 0;
  for (; queued < n; ++queued) {
    io_uring_sqe* sqe = io_uring_get_sqe(&s->ring);
    if (!sqe) break;
    const IoRequest& r = reqs[queued];
    if (r.nop) {
      io_uring_prep_nop(sqe);
    } else if (s->fixed) {
      int idx = buffer_index(*s, r);
      if (idx < 0) return -EFAULT;
      if (r.write)
        io_uring_prep_write_fixed(sqe, r.fd, r.buf, r.len, r.offset, idx);
      else
        io_uring_prep_read_fixed(sqe, r.fd, r.buf, r.len, r.offset, idx);
    } else if (r.write) {
      io_uring_prep_write(sqe, r.fd, r.buf, r.len, r.offset);
    } else {
      io_uring_prep_read(sqe, r.fd, r.buf, r.len, r.offset);
    }
    if (s->force_async) sqe->flags |= IOSQE_ASYNC;
    io_uring_sqe_set_data64(sqe, r.user);
  }
  if (queued == 0) return -EAGAIN;
  int ret = io_uring_submit(&s->ring);
  if (ret < 0) return ret;
  return static_cast<int>(queued);
}

int uring_reap(void* state, unsigned min, IoCompletion* out, unsigned max, int timeout_ms) {
  auto* s = static_cast<UringState*>(state);
  unsigned got = 0;
  while (got < max) {
    io_uring_cqe* cqe = nullptr;
    int ret;
    if (got >= min) {
      ret = io_uring_peek_cqe(&s->ring, &cqe);
      if (ret == -EAGAIN) break;
    } else if (timeout_ms < 0) {
      ret = io_uring_wait_cqe(&s->ring, &cqe);
    } else {
      __kernel_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000LL};
      ret = io_uring_wait_cqe_timeout(&s->ring, &cqe, &ts);
      if (ret == -ETIME) break;
    }
    if (ret < 0) return got ? static_cast<int>(got) : ret;
    out[got].user = io_uring_cqe_get_data64(cqe);
    out[got].res = cqe->res;
    ++got;
    io_uring_cqe_seen(&s->ring, cqe);
  }
  return static_cast<int>(got);
}

int uring_set_max_workers(void* state, unsigned bounded, unsigned unbounded) {
  unsigned v[2] = {bounded, unbounded};
  return io_uring_register_iowq_max_workers(&static_cast<UringState*>(state)->ring, v);
}

int uring_set_eventfd(void* state, int efd) {
  return io_uring_register_eventfd(&static_cast<UringState*>(state)->ring, efd);
}

int uring_cancel(void* state, uint64_t user) {
  auto* s = static_cast<UringState*>(state);
  io_uring_sqe* sqe = io_uring_get_sqe(&s->ring);
  if (!sqe) return -EBUSY;
  io_uring_prep_cancel64(sqe, user, 0);
  io_uring_sqe_set_data64(sqe, ~0ull);  // the cancel's own completion is reaped like any other
  return io_uring_submit(&s->ring) < 0 ? -EIO : 0;
}

void uring_close(void* state) noexcept {
  auto* s = static_cast<UringState*>(state);
  io_uring_queue_exit(&s->ring);
  delete s;
}

}  // namespace

extern const EngineOps uring_engine{
    .name = "io_uring",
    .description = "io_uring via liburing (plain, fixed buffers, IOSQE_ASYNC, SQPOLL, IOPOLL)",
    .caps = kCapAsync | kCapFixedBuffers | kCapForceAsync | kCapSqpoll | kCapIowqLimits | kCapEventfd | kCapCancel |
            kCapIopoll,
    .open = uring_open,
    .submit = uring_submit,
    .reap = uring_reap,
    .close = uring_close,
    .set_max_workers = uring_set_max_workers,
    .set_eventfd = uring_set_eventfd,
    .cancel = uring_cancel,
};

}  // namespace diorace
