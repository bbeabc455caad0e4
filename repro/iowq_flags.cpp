// SPDX-License-Identifier: GPL-2.0-or-later
// iowq_flags: io-wq worker state churn (seed 000).
//
// What races: io-wq workers change worker->flags (IO_WORKER_F_FREE/RUNNING/
// BOUND) in io_worker_handle_work / io_wq_worker_running while
// io_wq_activate_free_worker (io_wqe_activate_free_worker on 6.1) reads them
// from the submitting task, with plain loads and stores: a data race that
// KCSAN reports ("BUG: KCSAN: data-race in io_worker_handle_work /
// io_wq_activate_free_worker"). Fixed by the set_bit()/test_bit() conversion
// of worker->flags in io_uring/io-wq.c (v6.10 era, Breno Leitao). On a kernel
// without KCSAN the race corrupts nothing: the case still runs its data and
// hang oracles and says that it ran without its detector.
//
// How: `threads` threads, each with its own ring (so its own io-wq), submit
// random bursts (1..max_burst) of IOSQE_ASYNC requests so every request goes
// to io-wq, with short random idle gaps so that workers go free and must be
// activated again. Each enqueue walks the free list and reads the flags of
// workers the previous enqueue of the burst just woke, while they write them
// (io_wq_worker_running on wake-up, __io_worker_busy in io_worker_handle_work)
// on the other CPU. Requests are NOPs (nop_pct, default 95 %) and 4 KiB
// O_DIRECT reads of a patterned file (verified). NOPs keep nearly all kernel
// time in exactly these paths: KCSAN samples one access in thousands, so
// every block-layer access a request adds dilutes the sampling of the racy
// ones. Measured on the 6.1 KCSAN kernel (2 vCPUs, TCG), reports per 100 s:
// 14 with NOPs only, 1 with half NOPs and half reads, 0 with the earlier mix
// (40 % NOPs plus the extras). With extras=1 a thread also issues buffered
// reads (verified), O_DIRECT writes of a new generation to its own file (read
// back and verified in the next burst) and pipe reads (unbounded work), every
// 101 bursts changes IORING_REGISTER_IOWQ_MAX_WORKERS, and every 211 closes
// its ring with requests in flight (into a buffer kept alive, never verified)
// and opens a new one. One iteration is `period_ms` of this.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/registry.hpp"
#include "diorace/stress.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr size_t kBlock = 4096;
constexpr uint64_t kSeed = 0x10ad10ad;
constexpr uint64_t kFileSize = 1 << 20;
constexpr unsigned kSlots = 64;

class IowqFlags final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const auto& p = ctx.params;
    threads_ = static_cast<unsigned>(p.integer("threads"));
    max_burst_ = static_cast<unsigned>(p.integer("max_burst"));
    period_ = std::chrono::milliseconds(p.integer("period_ms"));
    nop_pct_ = static_cast<unsigned>(p.integer("nop_pct"));
    extras_ = p.integer("extras") != 0;
    max_idle_us_ = static_cast<unsigned>(p.integer("max_idle_us"));
    FixtureSpec shared{ctx.fixture_name("shared"), {1, 1, kSeed}, kFileSize};
    ctx.target.ensure_fixture(shared);
    shared_name_ = shared.name;
    direct_ = ctx.target.open_fixture(shared.name, O_RDONLY | O_DIRECT);
    buffered_ = ctx.target.open_fixture(shared.name, O_RDONLY);
    (void)Engine::open("io_uring", {.depth = 4, .force_async = true});  // SKIP here if unsupported
    for (unsigned t = 0; t < threads_; ++t) {
      auto w = std::make_unique<Worker>();
      w->index = t;
      w->file = ctx.fixture_name(fmt::format("own{:02}", t));
      w->fd = ctx.target.open_case_file(w->file, kSlots * kBlock, O_RDWR | O_DIRECT);
      int p2[2];
      if (::pipe2(p2, O_CLOEXEC) < 0) throw_errno("pipe");
      w->pipe_r.reset(p2[0]);
      w->pipe_w.reset(p2[1]);
      w->buffers = AlignedBuffer::create(2 * kSlots * kBlock, kBlock);
      w->graveyard = AlignedBuffer::create(kSlots * kBlock, kBlock);
      w->rng.seed(ctx.seed + t);
      workers_.push_back(std::move(w));
    }
    for (auto& w : workers_) stress_.spawn([this, &ctx, w = w.get()] { run(ctx, *w); });
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t) override { return stress_.collect(ctx, period_); }

  void teardown(CaseContext&) noexcept override { stress_.stop(); }

 private:
  struct Worker {
    unsigned index = 0;
    std::string file;
    UniqueFd fd, pipe_r, pipe_w;
    AlignedBuffer buffers, graveyard;
    std::mt19937_64 rng;
    uint32_t generation[kSlots] = {};
  };

  enum Op : uint64_t { kDirectRead, kBufferedRead, kWrite, kReadBack, kPipe, kNop };
  struct Pending {
    Op op;
    uint64_t offset;
    unsigned slot;
    std::byte* buf;
  };

  struct Burst {
    std::vector<IoRequest> reqs;
    std::vector<Pending> pend;
    void add(Worker& w, Op op, int fd, uint64_t off, unsigned slot, bool write, uint32_t len = kBlock) {
      std::byte* buf = w.buffers.data() + pend.size() * kBlock;
      reqs.push_back({fd, buf, len, off, write, pend.size(), op == kNop});
      pend.push_back({op, off, slot, buf});
    }
  };

  // The last burst's writes read back, then a random burst: mostly NOPs
  // (quick work, so workers keep going free and being activated again, and
  // little else for KCSAN to sample), O_DIRECT reads, and with extras
  // buffered reads, writes and pipe reads.
  Burst next_burst(Worker& w, std::vector<unsigned>& to_read_back) {
    Burst b;
    for (unsigned s : to_read_back) b.add(w, kReadBack, w.fd.get(), s * kBlock, s, false);
    to_read_back.clear();
    const unsigned burst = 1 + static_cast<unsigned>(w.rng() % max_burst_);
    for (unsigned i = 0; i < burst && b.pend.size() < 2 * kSlots - 1; ++i) {
      const unsigned pick = static_cast<unsigned>(w.rng() % 100);
      const unsigned rest = extras_ ? (100 - nop_pct_) / 4 : 0;  // buffered reads, writes, pipe reads
      switch (pick < nop_pct_ ? 0u : pick < 100 - rest ? 1u : 2u + pick % 4) {
        case 0: b.add(w, kNop, -1, 0, 0, false, 0); break;
        case 1: b.add(w, kDirectRead, direct_.get(), (w.rng() % (kFileSize / kBlock)) * kBlock, 0, false); break;
        case 2: b.add(w, kBufferedRead, buffered_.get(), (w.rng() % (kFileSize / kBlock)) * kBlock, 0, false); break;
        case 3:
        case 4: {
          unsigned slot = static_cast<unsigned>(w.rng() % kSlots);
          bool taken = false;
          for (auto& p : b.pend) taken |= (p.op == kWrite || p.op == kReadBack) && p.slot == slot;
          if (taken) break;
          b.add(w, kWrite, w.fd.get(), slot * kBlock, slot, true);
          fill_pattern({b.pend.back().buf, kBlock}, {100 + w.index, ++w.generation[slot], kSeed}, slot * kBlock);
          break;
        }
        default:
          if (::write(w.pipe_w.get(), "diorace!", 8) == 8) b.add(w, kPipe, w.pipe_r.get(), 0, 0, false, 8);
      }
    }
    return b;
  }

  // Each completion: its result (a wrong one is an error of the case, not
  // corruption), then its data.
  void check_burst(Worker& w, const Burst& b, const std::vector<IoCompletion>& done,
                   std::vector<unsigned>& to_read_back) {
    for (const auto& c : done) {
      const Pending& p = b.pend[c.user];
      const uint32_t want = p.op == kPipe ? 8 : p.op == kNop ? 0 : kBlock;
      if (c.res != static_cast<int64_t>(want))
        throw std::system_error(c.res < 0 ? static_cast<int>(-c.res) : EIO, std::generic_category(),
                                fmt::format("thread {}: io-wq request returned {} of {}", w.index, c.res, want));
      std::vector<Corruption> bad;
      if (p.op == kDirectRead || p.op == kBufferedRead)
        bad = Verifier({1, 1, kSeed}, shared_name_).verify({p.buf, kBlock}, p.offset);
      else if (p.op == kReadBack)
        bad = Verifier({100 + w.index, w.generation[p.slot], kSeed}, w.file).verify({p.buf, kBlock}, p.offset);
      else if (p.op == kWrite)
        to_read_back.push_back(p.slot);
      for (auto& x : bad) {
        x.context = fmt::format("thread {}: {} through io-wq", w.index,
                                p.op == kReadBack ? "read-back of its own O_DIRECT write"
                                : p.op == kDirectRead ? "O_DIRECT read" : "buffered read");
        stress_.report(std::move(x));
      }
    }
  }

  void run(CaseContext& ctx, Worker& w) {
    auto engine = Engine::open("io_uring", {.depth = 2 * kSlots, .force_async = true});
    std::vector<unsigned> to_read_back;
    uint64_t bursts = 0;
    while (!stress_.stopping()) {
      ++bursts;
      if (extras_ && bursts % 101 == 0) {
        // Change the worker limits while work runs: workers exit and are
        // re-created, flipping their flags.
        (void)engine.set_max_workers(1 + w.rng() % 4, 1 + w.rng() % 4);
      }
      if (extras_ && bursts % 211 == 0) {
        // Close the ring with requests in flight; their buffers stay alive.
        std::vector<IoRequest> doomed;
        for (unsigned i = 0; i < 8; ++i)
          doomed.push_back({direct_.get(), w.graveyard.data() + i * kBlock, kBlock, (w.rng() % 256) * kBlock, false, i});
        engine.submit(doomed);
        engine = Engine::open("io_uring", {.depth = 2 * kSlots, .force_async = true});
        continue;
      }
      const Burst b = next_burst(w, to_read_back);
      if (b.reqs.empty()) continue;
      engine.submit(b.reqs);
      std::vector<IoCompletion> done(b.reqs.size());
      size_t got = 0;
      while (got < b.reqs.size()) got += engine.reap(1, std::span(done).subspan(got));
      ctx.stats.ios.fetch_add(got, std::memory_order_relaxed);
      check_burst(w, b, done, to_read_back);
      // Idle a little so workers go free and must be activated again.
      if (max_idle_us_ && w.rng() % 2 == 0)
        std::this_thread::sleep_for(std::chrono::microseconds(w.rng() % max_idle_us_));
    }
  }

  unsigned threads_ = 0, max_burst_ = 0, nop_pct_ = 0, max_idle_us_ = 0;  // set from the parameters
  bool extras_ = false;
  std::chrono::milliseconds period_{1000};
  std::string shared_name_;
  UniqueFd direct_, buffered_;
  std::vector<std::unique_ptr<Worker>> workers_;
  StressThreads stress_;  // last member: its threads stop before the rest is destroyed
};

const Registrar registrar{CaseInfo{
    .name = "iowq_flags",
    .summary = "io-wq worker state churn: IOSQE_ASYNC bursts of NOPs and O_DIRECT reads, workers freed and re-activated",
    .races = "io_worker_handle_work / io_wq_worker_running writing worker->flags vs io_wq_activate_free_worker "
             "reading them (KCSAN data race)",
    .seed_thread = "000: [PATCH] io_uring/io-wq: Use set_bit() and test_bit() at worker->flags (2024)",
    .fixed_by = {{"8a565304927fbd28c9f028c492b5c1714002cbab",
                  "io_uring/io-wq: Use set_bit() and test_bit() at worker->flags", "v6.10"}},
    .known_bad = {">= 5.1, < 6.6.35; >= 6.7, < 6.9.6 (CVE-2024-39508); only a KCSAN kernel reports it"},
    .needs = kNeedODirect | kNeedIoUring,
    .oracles = {Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .detectors = {"CONFIG_KCSAN"},
    .own_signatures = {"KCSAN: data-race in (io_worker_handle_work|io_wq_worker_running|io_wq_worker_sleeping|"
                       "io_wqe?_activate_free_worker|io_wqe?_worker)[^\\n]* / "
                       "(io_worker_handle_work|io_wq_worker_running|io_wq_worker_sleeping|io_wqe?_activate_free_worker|"
                       "io_wqe?_worker)"},
    .params =
        {
            {"threads", "submitting threads, one ring each", 8, 1, 64, {}},
            {"max_burst", "largest burst of IOSQE_ASYNC requests", 32, 1, 64, {}},
            {"period_ms", "length of one iteration", 1000, 100, 60000, {}},
            {"nop_pct", "share of NOP requests (percent); the rest are mostly 4 KiB O_DIRECT reads", 95, 0, 100, {}},
            {"extras", "1: also buffered reads, O_DIRECT writes, pipe reads, worker-limit changes, rings closed in flight",
             0, 0, 1, {}},
            {"max_idle_us", "longest idle gap between bursts (microseconds; 0: none)", 1000, 0, 100000, {}},
        },
    .iteration_timeout_s = 120,
    // KCSAN samples accesses, so detection time varies: on the 6.1 debug
    // kernel see the README's table (seconds, not minutes, with this mix).
    .default_duration_s = 120,
    .controls = {
        {kDebug61, Verdict::fail, {}, FailKind::splat, true, 120, "KCSAN reports the io-wq worker->flags race"},
        {kDebug612, Verdict::pass, {}, FailKind::none, false, 60, "set_bit/test_bit on worker->flags; KCSAN armed"},
    },
    .make = [] { return std::make_unique<IowqFlags>(); },
}};

}  // namespace
}  // namespace diorace
