// SPDX-License-Identifier: GPL-2.0-or-later
// psync: pread/pwrite, one request at a time. Completion happens during
// submit; reap hands back what was completed.
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <new>

#include "diorace/engine.hpp"

namespace diorace {
namespace {

struct PsyncState {
  std::deque<IoCompletion> done;
};

int psync_open(const EngineOptions&, void** state) {
  auto* s = new (std::nothrow) PsyncState;
  if (!s) return -ENOMEM;
  *state = s;
  return 0;
}

int psync_submit(void* state, const IoRequest* reqs, unsigned n) {
  auto* s = static_cast<PsyncState*>(state);
  for (unsigned i = 0; i < n; ++i) {
    const IoRequest& r = reqs[i];
    ssize_t ret = 0;
    if (r.nop) {
      s->done.push_back({r.user, 0});
      continue;
    }
    do {
      ret = r.write ? ::pwrite(r.fd, r.buf, r.len, static_cast<off_t>(r.offset))
                    : ::pread(r.fd, r.buf, r.len, static_cast<off_t>(r.offset));
    } while (ret < 0 && errno == EINTR);
    s->done.push_back({r.user, ret < 0 ? -errno : ret});
  }
  return static_cast<int>(n);
}

int psync_reap(void* state, unsigned, IoCompletion* out, unsigned max, int) {
  auto* s = static_cast<PsyncState*>(state);
  unsigned n = 0;
  while (n < max && !s->done.empty()) {
    out[n++] = s->done.front();
    s->done.pop_front();
  }
  return static_cast<int>(n);
}

void psync_close(void* state) noexcept { delete static_cast<PsyncState*>(state); }

}  // namespace

extern const EngineOps psync_engine{
    .name = "psync",
    .description = "pread(2)/pwrite(2), synchronous",
    .caps = 0,
    .open = psync_open,
    .submit = psync_submit,
    .reap = psync_reap,
    .close = psync_close,
    .set_max_workers = nullptr,
    .set_eventfd = nullptr,
    .cancel = nullptr,
};

}  // namespace diorace
