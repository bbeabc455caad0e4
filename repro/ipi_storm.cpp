// SPDX-License-Identifier: GPL-2.0-or-later
// ipi_storm: cross-CPU function calls as fast as the kernel will send them,
// while O_DIRECT reads and a fork storm run (seed 004).
//
// What races: smp_call_function_many() adds a call to a list that other CPUs'
// IPI handlers walk and delete from; the seed thread (2011) fixed a window in
// which the delete could run before the add was complete ("call_function_many:
// fix list delete vs add race"). Today's equivalents are the per-CPU CSD
// queues; their failures show as WARNINGs from kernel/smp.c, "csd: Detected
// non-responsive CSD lock" (CONFIG_CSD_LOCK_WAIT_DEBUG), RCU stalls, or hangs.
//
// How: one thread pinned to each CPU churns a private mapping shared by all
// of them (mprotect and munmap/mmap: TLB shootdown IPIs to every CPU that ran
// the mm), one thread issues membarrier(PRIVATE_EXPEDITED) (an IPI to every
// CPU running the process), one thread hops between CPUs
// (sched_setaffinity), and meanwhile workers do O_DIRECT reads into their own
// page-aligned buffers (verified) while a fork storm runs, so the IPIs land
// in the middle of page-table and GUP work. One iteration is one round of
// verified reads; kernel-log and hang oracles watch the rest.
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/forkstorm.hpp"
#include "diorace/registry.hpp"
#include "diorace/threads.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr size_t kPage = 4096;
constexpr uint64_t kSeed = 0x1b1b1b1b;
constexpr uint64_t kFileSize = 16 << 20;

int membarrier(int cmd) { return static_cast<int>(::syscall(__NR_membarrier, cmd, 0, 0)); }

class IpiStorm final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const auto& p = ctx.params;
    readers_ = static_cast<unsigned>(p.integer("readers"));
    read_kib_ = static_cast<size_t>(p.integer("read_kib"));
    FixtureSpec data{ctx.fixture_name("data"), {1, 1, kSeed}, kFileSize};
    ctx.target.ensure_fixture(data);
    name_ = data.name;
    fd_ = ctx.target.open_fixture(data.name, O_RDONLY | O_DIRECT);
    // Page aligned, one region per reader: no two reads share a page, so the
    // fork storm cannot trip the fork-vs-O_DIRECT race (dma_thread's) and a
    // failure here is about the IPI storm. (With a 512-byte misalignment this
    // case did FAIL on Debian 6.1 with fill_byte corruption: that race.)
    buffer_ = AlignedBuffer::create(readers_ * read_kib_ * 1024, kPage, 0);
    for (unsigned j = 0; j < readers_; ++j) engines_.push_back(Engine::open("psync"));

    use_membarrier_ = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
    const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned c = 0; c < cpus; ++c) storm_threads_.start([this, c] { shootdowns(c); });
    if (use_membarrier_) storm_threads_.start([this] {
      while (!stop_) {
        (void)membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
        ipis_.fetch_add(1, std::memory_order_relaxed);
      }
    });
    storm_threads_.start([this, cpus] {
      for (unsigned i = 0; !stop_; ++i) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(i % cpus, &set);
        (void)::sched_setaffinity(0, sizeof set, &set);
        std::this_thread::yield();
      }
    });
    forks_ = std::make_unique<ForkStorm>(ForkStormOptions{.threads = 1});
    forks_->start();
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    buffer_.fill(std::byte{0xfa});
    const uint64_t span = readers_ * read_kib_ * 1024;
    const uint64_t off = (i * span) % (kFileSize - span + 1) / kPage * kPage;
    std::vector<int64_t> res(readers_);
    JoinedThreads t;
    for (unsigned j = 0; j < readers_; ++j)
      t.start([&, j] {
        IoRequest r{fd_.get(), buffer_.data() + j * read_kib_ * 1024, static_cast<uint32_t>(read_kib_ * 1024),
                    off + j * read_kib_ * 1024, false, j};
        res[j] = engines_[j].run_one(r);
      });
    t.join();
    for (unsigned j = 0; j < readers_; ++j)
      if (res[j] != static_cast<int64_t>(read_kib_ * 1024))
        throw std::system_error(res[j] < 0 ? static_cast<int>(-res[j]) : EIO, std::generic_category(),
                                fmt::format("reader {}: O_DIRECT read returned {}", j, res[j]));
    auto found = Verifier({1, 1, kSeed}, name_, {.fill = std::byte{0xfa}}).verify({buffer_.data(), span}, off);
    for (auto& c : found) c.context = fmt::format("iteration {}: O_DIRECT reads under an IPI storm", i);
    ctx.stats.ios.fetch_add(readers_ + ipis_.exchange(0), std::memory_order_relaxed);
    ctx.stats.forks.store(forks_->forks(), std::memory_order_relaxed);
    return found;
  }

  void teardown(CaseContext& ctx) noexcept override {
    stop_ = true;
    storm_threads_.join();
    if (forks_) {
      forks_->stop();
      ctx.stats.forks.store(forks_->forks());
    }
  }

 private:
  // Pinned to one CPU: every mprotect/munmap of a mapping touched from all
  // CPUs sends TLB-shootdown IPIs to the others.
  void shootdowns(unsigned cpu) noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)::sched_setaffinity(0, sizeof set, &set);
    constexpr size_t kLen = 16 * kPage;
    while (!stop_) {
      void* p = ::mmap(nullptr, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) continue;
      auto* b = static_cast<volatile char*>(p);
      for (size_t i = 0; i < kLen; i += kPage) b[i] = 1;
      (void)::mprotect(p, kLen, PROT_READ);
      (void)::mprotect(p, kLen, PROT_READ | PROT_WRITE);
      (void)::munmap(p, kLen);
      ipis_.fetch_add(2, std::memory_order_relaxed);
    }
  }

  unsigned readers_ = 0;
  size_t read_kib_ = 0;
  std::string name_;
  UniqueFd fd_;
  AlignedBuffer buffer_;
  std::vector<Engine> engines_;
  bool use_membarrier_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ipis_{0};
  JoinedThreads storm_threads_;
  std::unique_ptr<ForkStorm> forks_;
};

const Registrar registrar{CaseInfo{
    .name = "ipi_storm",
    .summary = "cross-CPU function-call storm (TLB shootdowns, membarrier, CPU hopping) during O_DIRECT and forks",
    .races = "smp_call_function_many list/CSD queue add vs delete in the IPI handler, under TLB shootdowns, "
             "membarrier IPIs, fork and O_DIRECT page-table work",
    .seed_thread = "004: [PATCH 1/3 v2] call_function_many: fix list delete vs add race (2011)",
    .fixed_by = {},
    .known_bad = {"2.6.37-era smp_call_function_many (seed 004); no modern kernel known bad: a regression guard"},
    .needs = kNeedODirect,
    .oracles = {Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .detectors = {"CONFIG_CSD_LOCK_WAIT_DEBUG"},
    .params =
        {
            {"readers", "O_DIRECT reader threads per iteration", 8, 1, 64, {}},
            {"read_kib", "bytes each reader reads per iteration (KiB, multiple of 4)", 16, 4, 1024, {}},
        },
    .iteration_timeout_s = 120,
    .controls = with_series({
        {kDebian61, Verdict::pass, {}, FailKind::none, false, 20, "regression guard (2.6.37-era CSD race)"},
    }),
    .make = [] { return std::make_unique<IpiStorm>(); },
    .validate =
        [](const ParamValues& p) {
          if (p.integer("read_kib") % 4) throw UsageError("ipi_storm: read_kib must be a multiple of 4");
          if (p.integer("readers") * p.integer("read_kib") * 1024 > int64_t(kFileSize) / 2)
            throw UsageError("ipi_storm: readers * read_kib must stay under 8 MiB");
        },
}};

}  // namespace
}  // namespace diorace
