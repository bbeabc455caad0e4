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
    fd_ = UniqueFd::open(ctx.target.file(data.name), O_RDONLY | O_DIRECT);
    aio_ = Engine::open(p.choice("engine"), {.depth = 1});
    sync_ = Engine::open("psync");
    child_ = p.choice("child") == "touch" ? ChildAction::touch_pages : ChildAction::exit_now;

    contention_ = start_contention(ctx);
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    auto buf = AlignedBuffer::create(3 * kPage, kPage, 0);
    buf.fill(kFill);
    const uint64_t off = (i * 2 * kPage) % (kDataSize - 2 * kPage);
    std::byte* first = buf.data() + 512;
    std::byte* second = buf.data() + 512 + kPage;

    IoRequest r1{fd_.get(), first, kPage, off, false, 1};
    aio_.submit({&r1, 1});
    pid_t pid = fork_child(child_, {buf.data(), 3 * kPage});
    if (pid < 0) {
      drain();
      throw std::system_error(-pid, std::generic_category(), "fork");
    }
    IoRequest r2{fd_.get(), second, kPage, off + kPage, false, 2};
    int64_t res2 = sync_.run_one(r2);
    int64_t res1 = drain();
    reap_child(pid);
    if (res1 != int64_t(kPage) || res2 != int64_t(kPage))
      throw std::system_error(EIO, std::generic_category(),
                              fmt::format("short O_DIRECT read: aio {} sync {} of {}", res1, res2, kPage));

    ctx.stats.forks.fetch_add(1, std::memory_order_relaxed);
    ctx.stats.ios.store(2 * (i + 1) + (contention_ ? contention_->ios() : 0), std::memory_order_relaxed);

    Verifier v(key_, name_, {.fill = kFill});
    std::vector<Corruption> found;
    for (auto [ptr, foff, what] : {std::tuple{first, off, "async read in flight across fork()"},
                                   std::tuple{second, off + kPage, "overlapping synchronous read after fork()"}}) {
      for (auto& c : v.verify({ptr, kPage}, foff)) {
        c.context = fmt::format("iteration {}: {} ({} bytes into buffer+0x{:x})", i, what, kPage, ptr - buf.data());
        found.push_back(std::move(c));
      }
    }
    return found;
  }

  void teardown(CaseContext&) noexcept override {
    if (contention_) contention_->stop();
  }

 private:
  int64_t drain() {
    IoCompletion c;
    while (aio_.reap(1, {&c, 1}) == 0) {
    }
    return c.res;
  }

  PatternKey key_;
  std::string name_;
  UniqueFd fd_;
  Engine aio_ = Engine::open("psync");
  Engine sync_ = Engine::open("psync");
  ChildAction child_ = ChildAction::exit_now;
  std::unique_ptr<Contention> contention_;
};

const Registrar registrar{CaseInfo{
    .name = "forkscrew",
    .summary = "fork vs an AIO O_DIRECT read in flight, then an overlapping synchronous O_DIRECT read",
    .races = "AIO O_DIRECT read DMA (FOLL_GET page refs) vs fork() write-protect + COW break by an overlapping "
             "synchronous O_DIRECT read in the parent",
    .seed_thread = "003: [RFC][PATCH v3 2/6] mm, directio: fix fork vs direct-io race (2009), forkscrew.c",
    .fixed_by = {{"920756a3306a35f1c08f25207d375885bef98975",
                  "block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages"},
                 {"1ccf164ec866cb8575ab9b2e219fca875089c60e",
                  "block: Use iov_iter_extract_pages() and page pinning in direct-io.c"}},
    .known_bad = {"< 6.3 (iomap, block devices)", "< 6.5 (fs/direct-io.c filesystems)",
                  "Debian linux-image-6.1.0-*"},
    .needs = kNeedODirect | kNeedLibaio,
    .oracles = {"data", "kmsg", "taint", "hang"},
    .detectors = {},
    .params = with_params({{"engine", "engine of the read in flight across the fork", 0, 0, 0, {"libaio", "io_uring"}},
                           {"child", "what the forked child does before _exit", 1, 0, 0, {"exit", "touch"}}},
                          contention_params()),
    .vm_device_bps = 20'000'000,
    .iteration_timeout_s = 60,
    .make = [] { return std::make_unique<ForkScrew>(); },
}};

}  // namespace
}  // namespace diorace
