// SPDX-License-Identifier: GPL-2.0-or-later
// aio_stress: Linux AIO completion, cancel and teardown paths under load (seed 002).
//
// What races: the seed thread (2005) found the AIO callback path (softirq
// completion and kick) racing the submitter's retry loop: an iocb completed
// and freed while a wake-up still kicked it (use after free, Oops in
// kick_iocb), or queued twice (WARN_ON in queue_kicked_iocb), with short
// reads as the trigger. That retry machinery is long gone; the paths that
// replaced it -- completion from interrupt context racing io_cancel,
// io_destroy and io_getevents timeouts, short reads at end of file -- are
// what this case keeps under pressure, so that a regression there shows up
// as corrupted data, a splat or a hang.
//
// How: `contexts` threads, each with its own AIO context of `depth`
// requests: random O_DIRECT reads of a patterned file (verified) and writes
// of a new generation to the thread's own file (read back and verified),
// reads that straddle end of file (must return exactly the bytes before
// EOF), completions reaped through an eventfd on some contexts and through
// io_getevents with short timeouts on others, io_cancel on requests in
// flight, and now and then io_destroy with requests still in flight.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
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
constexpr uint64_t kSeed = 0xa10a10a1;
constexpr uint64_t kFileSize = 8 << 20;  // the shared file; reads near its end are short
constexpr unsigned kSlots = 64;

class AioStress final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const auto& p = ctx.params;
    contexts_ = static_cast<unsigned>(p.integer("contexts"));
    depth_ = static_cast<unsigned>(p.integer("depth"));
    period_ = std::chrono::milliseconds(p.integer("period_ms"));
    FixtureSpec shared{ctx.fixture_name("shared"), {1, 1, kSeed}, kFileSize};
    ctx.target.ensure_fixture(shared);
    shared_name_ = shared.name;
    shared_ = ctx.target.open_fixture(shared.name, O_RDONLY | O_DIRECT);
    // A fixture on a block device has no end of file: no short reads there.
    eof_reads_ = ctx.target.device().empty();
    (void)Engine::open("libaio", {.depth = depth_});  // SKIP here if AIO is unavailable
    for (unsigned t = 0; t < contexts_; ++t) {
      auto w = std::make_unique<Worker>();
      w->index = t;
      w->file = ctx.fixture_name(fmt::format("own{:02}", t));
      w->fd = ctx.target.open_case_file(w->file, kSlots * kBlock, O_RDWR | O_DIRECT);
      w->buffers = AlignedBuffer::create(size_t(depth_) * kBlock, kBlock);
      w->graveyard = AlignedBuffer::create(size_t(depth_) * kBlock, kBlock);
      w->rng.seed(ctx.seed * 31 + t);
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
    UniqueFd fd;
    AlignedBuffer buffers, graveyard;
    std::mt19937_64 rng;
    uint32_t generation[kSlots] = {};
  };
  enum Op { kRead, kEofRead, kWrite, kReadBack };
  struct Pending {
    Op op = kRead;
    uint64_t offset = 0;
    unsigned slot = 0;
    uint32_t expect = 0;
  };

  void report(std::vector<Corruption> bad, const std::string& what) {
    for (auto& b : bad) {
      b.context = what;
      stress_.report(std::move(b));
    }
  }

  // One round's requests: what each one is and where its buffer is.
  struct Round {
    std::vector<IoRequest> reqs;
    std::vector<Pending> pend;
    void add(Worker& w, Op op, int fd, uint64_t off, unsigned slot, bool write, uint32_t expect) {
      reqs.push_back({fd, w.buffers.data() + pend.size() * kBlock, kBlock, off, write, pend.size()});
      pend.push_back({op, off, slot, expect});
    }
  };

  // io_destroy with requests in flight (their buffers stay alive): the old
  // context is destroyed when the engine is replaced.
  template <class Open>
  void destroy_in_flight(Worker& w, Engine& engine, Open&& open_engine) {
    std::vector<IoRequest> doomed;
    for (unsigned i = 0; i < depth_ / 2; ++i)
      doomed.push_back({shared_.get(), w.graveyard.data() + i * kBlock, kBlock,
                        (w.rng() % (kFileSize / kBlock)) * kBlock, false, i});
    engine.submit(doomed);
    engine = open_engine();
  }

  // The last round's writes read back, then random reads, reads across end
  // of file and writes of a new generation, up to the queue depth.
  Round next_round(Worker& w, std::vector<unsigned>& read_back) {
    Round r;
    for (unsigned s : read_back) r.add(w, kReadBack, w.fd.get(), s * kBlock, s, false, kBlock);
    read_back.clear();
    while (r.pend.size() < depth_) {
      unsigned pick = static_cast<unsigned>(w.rng() % 8);
      if (pick < 4 || (pick == 4 && !eof_reads_)) {
        r.add(w, kRead, shared_.get(), (w.rng() % (kFileSize / kBlock)) * kBlock, 0, false, kBlock);
      } else if (pick == 4) {
        // Straddles end of file: exactly the bytes before EOF come back.
        uint64_t off = kFileSize - 512 * (1 + w.rng() % 7);
        r.add(w, kEofRead, shared_.get(), off, 0, false, static_cast<uint32_t>(kFileSize - off));
      } else {
        unsigned slot = static_cast<unsigned>(w.rng() % kSlots);
        bool taken = false;
        for (auto& p : r.pend) taken |= p.slot == slot && (p.op == kWrite || p.op == kReadBack);
        if (taken) continue;
        r.add(w, kWrite, w.fd.get(), slot * kBlock, slot, true, kBlock);
        fill_pattern({static_cast<std::byte*>(r.reqs.back().buf), kBlock}, {200 + w.index, ++w.generation[slot], kSeed},
                     slot * kBlock);
      }
    }
    return r;
  }

  // Every completion of the round: through the eventfd, or io_getevents
  // with short random timeouts.
  std::vector<IoCompletion> reap_round(Worker& w, Engine& engine, int efd, size_t count) {
    std::vector<IoCompletion> done(count);
    size_t got = 0;
    while (got < count) {
      if (efd >= 0) {
        pollfd p{efd, POLLIN, 0};
        (void)::poll(&p, 1, 100);
        uint64_t n;
        (void)::read(efd, &n, sizeof n);
        got += engine.reap(0, std::span(done).subspan(got), 0);
      } else {
        got += engine.reap(1, std::span(done).subspan(got), 1 + static_cast<int>(w.rng() % 5));
      }
    }
    return done;
  }

  // Each completion against what was due: its result, then its data.
  void check_round(Worker& w, const Round& r, const std::vector<IoCompletion>& done, int cancelled,
                   std::vector<unsigned>& read_back) {
    for (const auto& c : done) {
      const Pending& p = r.pend[c.user];
      auto* buf = static_cast<const std::byte*>(r.reqs[c.user].buf);
      if (c.res == -ECANCELED && cancelled == 0) continue;
      if (c.res != static_cast<int64_t>(p.expect)) {
        Corruption bad;
        bad.file = p.op == kWrite || p.op == kReadBack ? w.file : shared_name_;
        bad.offset = p.offset;
        bad.length = p.expect;
        bad.cls = CorruptionClass::garbage;
        bad.detail = fmt::format("AIO request returned {} where {} bytes were due", c.res, p.expect);
        bad.context = fmt::format("context {}: {}", w.index, p.op == kEofRead ? "read across end of file" : "request");
        stress_.report(std::move(bad));
        continue;
      }
      if (p.op == kRead || p.op == kEofRead) {
        uint32_t len = p.op == kEofRead ? p.expect / 512 * 512 : kBlock;
        report(Verifier({1, 1, kSeed}, shared_name_).verify({buf, len}, p.offset),
               fmt::format("context {}: O_DIRECT AIO read{}", w.index, p.op == kEofRead ? " across end of file" : ""));
      } else if (p.op == kReadBack) {
        report(Verifier({200 + w.index, w.generation[p.slot], kSeed}, w.file).verify({buf, kBlock}, p.offset),
               fmt::format("context {}: read-back of its own AIO O_DIRECT write", w.index));
      } else {
        read_back.push_back(p.slot);
      }
    }
  }

  void run(CaseContext& ctx, Worker& w) {
    const bool use_eventfd = w.index % 2 == 1;
    UniqueFd efd;
    auto open_engine = [&] {
      auto e = Engine::open("libaio", {.depth = depth_});
      if (use_eventfd) {
        efd = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!efd) throw_errno("eventfd");
        (void)e.set_eventfd(efd.get());
      }
      return e;
    };
    auto engine = open_engine();
    uint64_t rounds = 0;
    std::vector<unsigned> read_back;
    while (!stress_.stopping()) {
      if (++rounds % 41 == 0) {
        destroy_in_flight(w, engine, open_engine);
        continue;
      }
      const Round r = next_round(w, read_back);
      engine.submit(r.reqs);
      // Try to cancel one request in flight: AIO file I/O is rarely
      // cancellable (EINVAL/EAGAIN), but the race with completion is the point.
      const int cancelled = engine.cancel(w.rng() % r.pend.size());
      const auto done = reap_round(w, engine, use_eventfd ? efd.get() : -1, r.reqs.size());
      ctx.stats.ios.fetch_add(done.size(), std::memory_order_relaxed);
      check_round(w, r, done, cancelled, read_back);
    }
  }

  unsigned contexts_ = 0, depth_ = 0;
  std::chrono::milliseconds period_{1000};
  std::string shared_name_;
  UniqueFd shared_;
  bool eof_reads_ = true;
  std::vector<std::unique_ptr<Worker>> workers_;
  StressThreads stress_;  // last member: its threads stop before the rest is destroyed
};

const Registrar registrar{CaseInfo{
    .name = "aio_stress",
    .summary = "AIO completion vs cancel/destroy/getevents timeouts, deep O_DIRECT queues, short reads at EOF",
    .races = "AIO completion (interrupt context) vs io_cancel, io_destroy and io_getevents timeouts on the same "
             "iocbs; short reads at end of file (the retry path of seed 002)",
    .seed_thread = "002: [RFC] Races in aio call back path (2005)",
    .fixed_by = {},
    .known_bad = {"2.6.13-era AIO retry path (seed 002); no modern kernel known bad: a regression guard"},
    .needs = kNeedODirect | kNeedLibaio,
    .oracles = {Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .params =
        {
            {"contexts", "threads, one AIO context each", 4, 1, 64, {}},
            {"depth", "requests in flight per context", 32, 4, kSlots, {}},
            {"period_ms", "length of one iteration", 1000, 100, 60000, {}},
        },
    .iteration_timeout_s = 120,
    .controls = with_series({
        {kDebian61, Verdict::pass, {}, FailKind::none, false, 20, "regression guard (2.6.13-era retry path)"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 20, "regression guard"},
    }),
    .make = [] { return std::make_unique<AioStress>(); },
}};

}  // namespace
}  // namespace diorace
