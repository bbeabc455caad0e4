// SPDX-License-Identifier: GPL-2.0-or-later
// forkscrew: an asynchronous O_DIRECT read in flight across a fork.
//
// What races: an AIO O_DIRECT read into buffer+512 (spanning two pages) holds
// page references from submission until its DMA completes. A fork
// write-protects the pages; a synchronous O_DIRECT read into the
// neighbouring sub-page region (buffer+512+4096, sharing the second page)
// breaks copy-on-write in the parent, which gets a copy; the AIO's DMA then
// lands in the page only the child maps, and the parent's buffer keeps the
// fill byte 0x2a in the second part of the first read.
//
// Why it matters: the AIO variant of the fork-vs-O_DIRECT race (seed 003,
// Jeff Moyer's forkscrew.c). The read is only in flight long enough when the
// device is slow and busy; the original says to run a dd against the device.
// Here background O_DIRECT readers (device contention) are on by default.
// Fixed by page pinning in the block layer (v6.3, v6.5); Debian 6.1 has it.
//
// How: per iteration a fresh 3-page buffer filled with 0x2a, one async read
// (libaio or io_uring) of 4 KiB at a varying file offset into buffer+512, one
// fork (the child touches the pages or exits at once), one synchronous
// O_DIRECT read of the next 4 KiB into buffer+512+4096, then the AIO is
// reaped, the child reaped, and both reads verified.
#include <fcntl.h>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/contention.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/forkrace.hpp"
#include "diorace/forkstorm.hpp"
#include "diorace/registry.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr size_t kPage = 4096;
constexpr std::byte kFill{0x2a};  // the original's PATTERN
constexpr uint64_t kFixtureSeed = 0xf0f5c4e3;
constexpr uint64_t kDataSize = 16 << 20;

class ForkScrew final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const auto& p = ctx.params;
    key_ = {1, 1, kFixtureSeed};
    FixtureSpec data{ctx.fixture_name("data"), key_, kDataSize};
    ctx.target.ensure_fixture(data);
    name_ = data.name;
    fd_ = ctx.target.open_fixture(data.name, O_RDONLY | O_DIRECT);
    aio_ = Engine::open(p.choice("engine"), {.depth = 1});
    sync_ = Engine::open("psync");
    child_ = p.choice("child") == "touch" ? ChildAction::touch_pages : ChildAction::exit_now;

    contention_ = start_contention(ctx);
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    // A fresh buffer each round, as the original allocates one per run.
    auto buf = AlignedBuffer::create(kForkRaceBufferSize, kPage, 0);
    ForkRaceRound round{.fd = fd_.get(),
                        .key = key_,
                        .file = name_,
                        .offset = (i * 2 * kPage) % (kDataSize - 2 * kPage),
                        .buffer = buf.data(),
                        .fill = kFill,
                        .child = child_,
                        .context = fmt::format("iteration {}", i)};
    auto found = fork_race_round(aio_, sync_, round);
    ctx.stats.forks.fetch_add(1, std::memory_order_relaxed);
    ctx.stats.ios.store(2 * (i + 1) + (contention_ ? contention_->ios() : 0), std::memory_order_relaxed);
    return found;
  }

  void teardown(CaseContext&) noexcept override {
    if (contention_) contention_->stop();
  }

 private:
  PatternKey key_;
  std::string name_;
  UniqueFd fd_;
  Engine aio_, sync_;  // opened in setup()
  ChildAction child_ = ChildAction::exit_now;
  std::unique_ptr<Contention> contention_;
};

const Registrar registrar{CaseInfo{
    .name = "forkscrew",
    .summary = "fork vs an AIO O_DIRECT read in flight, then an overlapping synchronous O_DIRECT read",
    .races = "AIO O_DIRECT read DMA (FOLL_GET page refs) vs fork() write-protect + COW break by an overlapping "
             "synchronous O_DIRECT read in the parent",
    .seed_thread = "003: [RFC][PATCH v3 2/6] mm, directio: fix fork vs direct-io race (2009), forkscrew.c",
    .fixed_by = kForkVsDirectIoFixes,
    .known_bad = {"< 6.3 (iomap, block devices)", "< 6.5 (fs/direct-io.c filesystems)",
                  "Debian linux-image-6.1.0-*"},
    .needs = kNeedODirect | kNeedLibaio,
    .oracles = {Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .detectors = {},
    .params = with_params({{"engine", "engine of the read in flight across the fork", 0, 0, 0, {"libaio", "io_uring"}},
                           {"child", "what the forked child does before _exit", 1, 0, 0, {"exit", "touch"}}},
                          contention_params()),
    .vm_device_bps = 20'000'000,
    .iteration_timeout_s = 60,
    .controls = with_series({
        {kDebian61, Verdict::fail, {}, FailKind::corruption, false, 60, "has the fork-vs-O_DIRECT bug (FOLL_GET)"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 30, "pins O_DIRECT pages (6.3, 6.5)"},
    }),
    .make = [] { return std::make_unique<ForkScrew>(); },
}};

}  // namespace
}  // namespace diorace
