// SPDX-License-Identifier: GPL-2.0-or-later
// uring_fork: the fork-vs-O_DIRECT race driven through io_uring reads.
//
// What races: the same window as forkscrew (an O_DIRECT read in flight holds
// page references; fork() write-protects; an overlapping read breaks COW in
// the parent; the first read's DMA lands in the child's page), but the read in
// flight is an io_uring request. Four variants, each reported separately:
//   plain  - IORING_OP_READ into an ordinary buffer: pages are taken at issue
//            through the same bio path as read(2);
//   fixed  - IORING_OP_READ_FIXED into a registered buffer: pages were pinned
//            (FOLL_PIN | FOLL_LONGTERM) at registration, so fork() copies
//            them for the child and the parent keeps its pages;
//   async  - IOSQE_ASYNC: the read is issued from an io-wq worker thread;
//   sqpoll - IORING_SETUP_SQPOLL: the kernel's SQ thread issues the read.
// Which variants corrupt on a kernel with the bug is measured, not assumed:
// the README table says what was seen on Debian 6.1 and 6.12.
//
// Fixed in mainline by the switch of O_DIRECT to page pinning
// (v6.3 for iomap and block devices, v6.5 for fs/direct-io.c).
#include <fcntl.h>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/contention.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/forkrace.hpp"
#include "diorace/registry.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr size_t kPage = 4096;
constexpr uint64_t kDataSize = 16 << 20;
constexpr uint64_t kFixtureSeed = 0x0a1f0a1f;

class UringFork final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const auto& p = ctx.params;
    key_ = {1, 1, kFixtureSeed};
    FixtureSpec data{ctx.fixture_name("data"), key_, kDataSize};
    ctx.target.ensure_fixture(data);
    name_ = data.name;
    fd_ = ctx.target.open_fixture(data.name, O_RDONLY | O_DIRECT);
    // The buffer lives for the whole case: registered buffers must.
    buffer_ = AlignedBuffer::create(kForkRaceBufferSize, kPage, 0);
    EngineOptions eo{.depth = 4};
    if (ctx.variant == "fixed") {
      eo.fixed_buffers = true;
      eo.registered = {{buffer_.data(), kForkRaceBufferSize}};
    }
    eo.force_async = ctx.variant == "async";
    eo.sqpoll = ctx.variant == "sqpoll";
    uring_ = Engine::open("io_uring", eo);
    sync_ = Engine::open("psync");
    child_ = p.choice("child") == "touch" ? ChildAction::touch_pages : ChildAction::exit_now;
    settle_ = std::chrono::microseconds(p.integer("settle_us"));
    contention_ = start_contention(ctx);
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    ForkRaceRound round{.fd = fd_.get(),
                        .key = key_,
                        .file = name_,
                        .offset = (i * 2 * kPage) % (kDataSize - 2 * kPage),
                        .buffer = buffer_.data(),
                        .fill = std::byte{0x2a},
                        .child = child_,
                        .settle = settle_,
                        .context = fmt::format("variant {}, iteration {}", ctx.variant, i)};
    auto found = fork_race_round(uring_, sync_, round);
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
  AlignedBuffer buffer_;
  Engine uring_, sync_;  // opened in setup()
  ChildAction child_ = ChildAction::touch_pages;
  std::chrono::microseconds settle_{0};
  std::unique_ptr<Contention> contention_;
};

const Registrar registrar{CaseInfo{
    .name = "uring_fork",
    .summary = "fork vs an io_uring O_DIRECT read in flight (plain, fixed, IOSQE_ASYNC, SQPOLL)",
    .races = "io_uring O_DIRECT read DMA vs fork() write-protect + COW break by an overlapping synchronous O_DIRECT "
             "read in the parent",
    .seed_thread = "003 (the fork vs direct-io race), driven through io_uring",
    .fixed_by = kForkVsDirectIoFixes,
    .known_bad = {"< 6.3 (iomap, block devices), plain/async/sqpoll variants as measured",
                  "Debian linux-image-6.1.0-*"},
    .needs = kNeedODirect | kNeedIoUring | kNeedLibaio,
    .oracles = {Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .params = with_params(
        {
            {"variant", "io_uring flavour of the read in flight (all: each, reported separately)", 0, 0, 0,
             {"all", "plain", "fixed", "async", "sqpoll"}},
            {"child", "what the forked child does before _exit", 1, 0, 0, {"exit", "touch"}},
            {"settle_us", "pause between submitting the read and forking (lets io-wq/SQPOLL issue it)", 0, 0,
             100000, {}},
        },
        contention_params()),
    .vm_device_bps = 20'000'000,
    .iteration_timeout_s = 60,
    .variants = {"plain", "fixed", "async", "sqpoll"},
    .controls = with_series({
        {kDebian61, Verdict::fail, {"plain", "async", "sqpoll"}, FailKind::corruption, false, 30,
         "has the fork-vs-O_DIRECT bug"},
        {kDebian61, Verdict::pass, {"fixed"}, FailKind::none, false, 30,
         "registered buffers are pinned at registration: fork copies them"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 20, "pins O_DIRECT pages (6.3, 6.5)"},
    }),
    .make = [] { return std::make_unique<UringFork>(); },
}};

}  // namespace
}  // namespace diorace
