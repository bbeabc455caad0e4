// SPDX-License-Identifier: GPL-2.0-or-later
// dma_thread: fork vs O_DIRECT read into a shared, misaligned buffer.
//
// What races: an O_DIRECT read takes references to the pages of its user
// buffer (get_user_pages with FOLL_GET) and the device DMAs into those pages
// later. If another thread forks meanwhile, the parent's anonymous pages are
// write-protected; when a second worker's O_DIRECT read into the *same page*
// (the buffer is misaligned by 512 bytes, so neighbouring workers' slices
// share pages) faults the page writable again, copy-on-write gives the parent
// a fresh copy and the first read's DMA lands in the old page, which now only
// the child maps. The parent sees the fill byte where the data should be.
//
// Why it matters: silent data loss for any multi-threaded program that forks
// while doing O_DIRECT reads (databases, QEMU). Reported in 2009 (seed 003,
// "mm, directio: fix fork vs direct-io race"); "mm: COW fixes part 2" (v5.19)
// made FOLL_PIN reliable, but O_DIRECT used FOLL_GET until the block layer
// switched to page pinning in v6.3 (iomap and block devices) and v6.5
// (legacy fs/direct-io.c). Debian's 6.1 kernels have the bug; 6.12 is fixed.
//
// How: `workers` persistent threads each read one page-sized slice of a
// patterned fixture file into buffer + alignment + j * 4096 (the last worker
// reads the remainder of `read_size`), released together by a barrier each
// iteration, while `fork_threads` threads fork continuously. Every slice is
// verified against the self-describing pattern. Unlike the original, fixture
// files are small, written once and reused, and threads are not recreated per
// round, so an iteration costs one read_size of I/O.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/contention.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/forkrace.hpp"
#include "diorace/forkstorm.hpp"
#include "diorace/registry.hpp"
#include "diorace/threads.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr size_t kPage = 4096;
constexpr std::byte kFill{0xfa};  // the original's PATTERN

class DmaThread final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const auto& p = ctx.params;
    workers_ = static_cast<unsigned>(p.integer("workers"));
    align_ = static_cast<size_t>(p.integer("alignment"));
    files_ = static_cast<unsigned>(p.integer("files"));
    file_size_ = static_cast<uint64_t>(p.integer("file_size_mib")) << 20;
    read_size_ = static_cast<size_t>(p.integer("read_size_kib")) << 10;
    engine_ = p.choice("engine");
    stagger_us_ = static_cast<unsigned>(p.integer("stagger_us"));

    for (unsigned f = 0; f < files_; ++f) {
      FixtureSpec spec{ctx.fixture_name(fmt::format("{:04}", f)), {f + 1, 1, kFixtureSeed}, file_size_};
      ctx.target.ensure_fixture(spec);
      fds_.push_back(ctx.target.open_fixture(spec.name, O_RDONLY | O_DIRECT));
      names_.push_back(spec.name);
    }
    buffer_ = AlignedBuffer::create(read_size_, kPage, align_);

    start_ = std::make_unique<std::barrier<>>(workers_ + 1);
    done_ = std::make_unique<std::barrier<>>(workers_ + 1);
    // Open every engine here so that an unsupported one is a SKIP, not an
    // error inside a worker.
    for (unsigned j = 0; j < workers_; ++j) engines_.push_back(Engine::open(engine_, {.depth = 1}));
    for (unsigned j = 0; j < workers_; ++j) threads_.start([this, j] { worker(j); });

    ForkStormOptions fo;
    fo.threads = static_cast<unsigned>(p.integer("fork_threads"));
    fo.interval_us = static_cast<unsigned>(p.integer("fork_interval_us"));
    fo.action = p.choice("child") == "touch" ? ChildAction::touch_pages : ChildAction::exit_now;
    fo.touch = {buffer_.base(), buffer_.mapping().size()};
    if (fo.threads > 0) {
      storm_ = std::make_unique<ForkStorm>(fo);
      storm_->start();
    }
    contention_ = start_contention(ctx);
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    const unsigned f = static_cast<unsigned>(i % files_);
    const uint64_t rounds = file_size_ / read_size_;
    round_offset_ = ((i / files_) % rounds) * read_size_;
    round_file_ = f;
    buffer_.fill(kFill);
    start_->arrive_and_wait();
    done_->arrive_and_wait();
    if (worker_error_) std::rethrow_exception(worker_error_);

    std::vector<Corruption> found;
    Verifier v({f + 1, 1, kFixtureSeed}, names_[f], {.fill = kFill});
    for (unsigned j = 0; j < workers_; ++j) {
      auto [off, len] = slice(j);
      auto bad = v.verify({buffer_.data() + j * kPage, len}, round_offset_ + off);
      for (auto& c : bad) {
        c.context = fmt::format("worker {} of {}, iteration {}, O_DIRECT read of {} bytes into buffer+0x{:x} "
                                "(alignment {})",
                                j, workers_, i, len, align_ + j * kPage, align_);
        found.push_back(std::move(c));
      }
    }
    ctx.stats.ios.fetch_add(workers_, std::memory_order_relaxed);
    if (contention_) ctx.stats.ios.fetch_add(contention_->ios() - contention_seen_, std::memory_order_relaxed);
    if (contention_) contention_seen_ = contention_->ios();
    if (storm_) ctx.stats.forks.store(storm_->forks(), std::memory_order_relaxed);
    return found;
  }

  void teardown(CaseContext& ctx) noexcept override {
    if (contention_) contention_->stop();
    if (storm_) {
      storm_->stop();
      ctx.stats.forks.store(storm_->forks());
    }
    if (threads_.size()) {
      stopping_ = true;
      // The missing workers' arrivals too, when creating one failed.
      (void)start_->arrive(static_cast<ptrdiff_t>(workers_ + 1 - threads_.size()));
      threads_.join();
    }
  }

 private:
  static constexpr uint64_t kFixtureSeed = 0xd3a7d3a7;

  std::pair<size_t, size_t> slice(unsigned j) const {
    size_t off = j * kPage;
    size_t len = j + 1 == workers_ ? read_size_ - kPage * (workers_ - 1) : kPage;
    return {off, len};
  }

  void worker(unsigned j) {
    for (;;) {
      start_->arrive_and_wait();
      if (stopping_) return;
      try {
        // Spread the workers' submissions like the original's sequential
        // thread creation, so that a fork can fall between two neighbours.
        if (stagger_us_ && j) std::this_thread::sleep_for(std::chrono::microseconds(stagger_us_ * j));
        auto [off, len] = slice(j);
        IoRequest r{fds_[round_file_].get(), buffer_.data() + j * kPage, static_cast<uint32_t>(len),
                    round_offset_ + off, false, j};
        int64_t res = engines_[j].run_one(r);
        if (res != static_cast<int64_t>(len))
          throw std::system_error(res < 0 ? static_cast<int>(-res) : EIO, std::generic_category(),
                                  fmt::format("worker {}: O_DIRECT read returned {} of {} bytes", j, res, len));
      } catch (...) {
        std::lock_guard lock(error_mutex_);
        if (!worker_error_) worker_error_ = std::current_exception();
      }
      done_->arrive_and_wait();
    }
  }

  unsigned workers_ = 0, files_ = 0, stagger_us_ = 0;
  size_t align_ = 0, read_size_ = 0;
  uint64_t file_size_ = 0;
  std::string engine_;
  std::vector<UniqueFd> fds_;
  std::vector<std::string> names_;
  std::vector<Engine> engines_;
  AlignedBuffer buffer_;
  std::unique_ptr<std::barrier<>> start_, done_;
  JoinedThreads threads_;  // joined by teardown (or its destructor)
  std::unique_ptr<ForkStorm> storm_;
  std::unique_ptr<Contention> contention_;
  uint64_t contention_seen_ = 0;
  std::atomic<bool> stopping_{false};
  uint64_t round_offset_ = 0;
  unsigned round_file_ = 0;
  std::mutex error_mutex_;
  std::exception_ptr worker_error_;
};

const Registrar registrar{CaseInfo{
    .name = "dma_thread",
    .summary = "fork vs O_DIRECT read: workers read page slices into one misaligned buffer while a thread forks",
    .races = "O_DIRECT read DMA (get_user_pages FOLL_GET) vs fork() write-protect + COW break by a neighbouring "
             "read into the same page: the parent loses the DMA",
    .seed_thread = "003: [RFC][PATCH v3 2/6] mm, directio: fix fork vs direct-io race (2009)",
    .fixed_by = kForkVsDirectIoFixes,
    .known_bad = {"< 6.3 (iomap, block devices)", "< 6.5 (fs/direct-io.c filesystems)",
                  "Debian linux-image-6.1.0-*"},
    .needs = kNeedODirect,
    .oracles = {Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .detectors = {},
    .params = with_params(
        {
            {"alignment", "bytes added to the page-aligned buffer start (the original's -a)", 512, 0, 4096, {}},
            {"workers", "reader threads (the original's -w)", 40, 2, 256, {}},
            {"files", "fixture files cycled through", 2, 1, 1000, {}},
            {"file_size_mib", "size of each fixture file", 2, 1, 4096, {}},
            {"read_size_kib", "bytes read per iteration, split among the workers", 1024, 8, 65536, {}},
            {"fork_threads", "threads forking continuously (0: negative control)", 1, 0, 16, {}},
            {"fork_interval_us", "pause between forks of one thread", 0, 0, 1000000, {}},
            {"stagger_us", "worker j starts its read j * stagger_us after the others are released", 0, 0, 100000, {}},
            {"child", "what a forked child does before _exit", 0, 0, 0, {"exit", "touch"}},
            {"engine", "I/O engine for the workers' reads", 0, 0, 0, {"psync", "libaio", "io_uring"}},
        },
        contention_params()),
    .vm_device_bps = 20'000'000,
    .iteration_timeout_s = 120,
    .controls = with_series({
        {kDebian61, Verdict::fail, {}, FailKind::corruption, false, 60, "has the fork-vs-O_DIRECT bug (FOLL_GET)"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 30, "pins O_DIRECT pages (6.3, 6.5)"},
    }),
    .make = [] { return std::make_unique<DmaThread>(); },
    .validate =
        [](const ParamValues& p) {
          int64_t read = p.integer("read_size_kib") << 10;
          if (read < p.integer("workers") * int64_t(kPage))
            throw UsageError(fmt::format("dma_thread: read_size_kib={} is less than one page per worker ({} workers)",
                                         p.integer("read_size_kib"), p.integer("workers")));
          if (read % int64_t(kPage) != 0) throw UsageError("dma_thread: read_size_kib must be a multiple of 4");
          if ((p.integer("file_size_mib") << 20) % read != 0)
            throw UsageError("dma_thread: file_size_mib must be a multiple of read_size_kib");
        },
    .target_bytes = [](const ParamValues& p) {
      return static_cast<uint64_t>(p.integer("files")) * (static_cast<uint64_t>(p.integer("file_size_mib")) << 20);
    },
}};

}  // namespace
}  // namespace diorace
