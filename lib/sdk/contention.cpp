// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/contention.hpp"
#include "diorace/threads.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/params.hpp"
#include "diorace/registry.hpp"
#include "diorace/target.hpp"

namespace diorace {

std::vector<ParamSpec> contention_params(unsigned readers, unsigned depth, unsigned block_kib) {
  return {
      {"contention_readers", "background O_DIRECT reader threads keeping the device busy (0: off)", readers, 0, 64,
       {}},
      {"contention_depth", "reads in flight per background reader", depth, 1, 256, {}},
      {"contention_block_kib", "size of each background read (multiple of 4)", block_kib, 4, 16384, {}},
      // Small: it is written through the case's throttled device before the
      // first iteration, and O_DIRECT re-reads of it load the device as well
      // as fresh data would (cache=none on the host).
      {"contention_file_mib", "size of the file the background readers cycle over", 8, 4, 65536, {}},
  };
}

std::unique_ptr<Contention> start_contention(CaseContext& ctx) {
  const auto& p = ctx.params;
  auto readers = static_cast<unsigned>(p.integer("contention_readers"));
  if (readers == 0) return nullptr;
  if (p.integer("contention_block_kib") % 4 != 0) throw UsageError("contention_block_kib must be a multiple of 4");
  uint64_t mib = static_cast<uint64_t>(p.integer("contention_file_mib"));
  FixtureSpec busy{ctx.fixture_name("contention"), {0xc0, 1, 0xc0c0c0c0}, mib << 20};
  ctx.target.ensure_fixture(busy);
  auto c = std::make_unique<Contention>(ContentionOptions{
      .path = ctx.target.device().empty() ? ctx.target.file(busy.name) : ctx.target.device(),
      .readers = readers,
      .depth = static_cast<unsigned>(p.integer("contention_depth")),
      .block = static_cast<uint32_t>(p.integer("contention_block_kib") << 10),
      .span = mib << 20,
      .opener = [&target = ctx.target, name = busy.name] { return target.open_fixture(name, O_RDONLY | O_DIRECT); },
  });
  c->start();
  // The device counts as busy once every reader's queue has cycled twice;
  // before that a throttled device still serves its burst allowance at full
  // speed (qemu's leaky bucket), and a race window would be missed.
  const uint64_t warm = 2ull * readers * static_cast<uint64_t>(p.integer("contention_depth"));
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (c->ios() < warm && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return c;
}

void Contention::start() {
  if (!threads_.empty() || opts_.readers == 0) return;
  stop_.store(false);
  for (unsigned i = 0; i < opts_.readers; ++i) {
    auto fd = opts_.opener ? opts_.opener() : UniqueFd::open(opts_.path, O_RDONLY | O_DIRECT);
    struct stat st{};
    if (::fstat(fd.get(), &st) < 0) throw_errno("fstat " + opts_.path);
    uint64_t span = opts_.span ? opts_.span : static_cast<uint64_t>(st.st_size);
    if (span < opts_.block) throw SetupError("contention file " + opts_.path + " is smaller than one read");
    const int raw = fd.get();
    fds_.push_back(std::move(fd));
    threads_.push_back(start_thread([this, raw, span, i] { loop(raw, span, i); }));
  }
}

void Contention::stop() noexcept {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (const auto& fd : fds_) forget_fd_window(fd.get());
  fds_.clear();  // closes them
}

void Contention::loop(int fd, uint64_t span, unsigned index) noexcept {
  try {
    const unsigned depth = opts_.depth ? opts_.depth : 1;
    auto engine = Engine::open("libaio", {.depth = depth});
    auto buf = AlignedBuffer::create(size_t(opts_.block) * depth, 4096);
    const uint64_t slots = span / opts_.block;
    uint64_t next = (index * 7919u) % slots;
    unsigned inflight = 0;
    std::vector<IoCompletion> done(depth);
    while (!stop_.load(std::memory_order_relaxed)) {
      while (inflight < depth) {
        IoRequest r{fd, buf.data() + size_t(inflight) * opts_.block, opts_.block, (next % slots) * opts_.block, false,
                    inflight};
        engine.submit({&r, 1});
        ++inflight;
        next += 13;
      }
      unsigned n = engine.reap(1, done, 200);
      inflight -= n;
      ios_.fetch_add(n, std::memory_order_relaxed);
    }
    while (inflight > 0) inflight -= engine.reap(inflight, done, 1000);
  } catch (...) {
    // Contention is best effort: losing it makes a race rarer, not a result wrong.
  }
}

}  // namespace diorace
