// SPDX-License-Identifier: GPL-2.0-or-later
// uffd_dio_release: userfaultfd release livelocks against an O_DIRECT read
// pinning its buffer (RACES.md bug 4; fixed in v6.15, Debian 6.12.24+, not 6.1).
//
// What races: an O_DIRECT read into a buffer registered with userfaultfd
// (missing mode) pins its pages with GUP and faults through
// handle_userfault(). If close(uffd) marks the context released while the
// pinning thread holds mmap_lock for reading, handle_userfault() returns
// VM_FAULT_NOPAGE, GUP takes that as success and retries forever with the
// lock held, and userfaultfd_release() waits forever for mmap_write_lock():
// both threads are stuck until the process is killed. Fixed by fe4cdc2c4e24
// ("mm/userfaultfd: fix release hang over concurrent GUP").
//
// How: every iteration runs a child process with `contexts` independent
// set-ups side by side: 4 MiB of anonymous memory registered with a
// userfaultfd (missing mode), a handler thread resolving faults with
// UFFDIO_ZEROPAGE, a reader thread looping pread(O_DIRECT) of a patterned
// fixture into the region and MADV_DONTNEED; the child's main thread closes
// each userfaultfd after a random 2..`close_ms` ms. Oracle: a child that has
// not finished within `deadline_s` is hung: the state, wchan and kernel stack
// of each of its threads are the evidence (userfaultfd_release and
// __get_user_pages are expected), then SIGKILL ends it and the case goes on
// (the hang is found in seconds, not by the kernel's 120 s hung-task
// detector). The last read of each child is verified against the fixture.
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/oracles.hpp"
#include "diorace/process.hpp"
#include "diorace/registry.hpp"
#include "diorace/threads.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr uint64_t kSeed = 0x0ffdd10;
constexpr size_t kRegion = 4 << 20;
constexpr uint64_t kFixtureSize = 8 << 20;
constexpr size_t kPage = 4096;

// What a child's readers saw last, for the parent to verify (shared memory).
struct LastRead {
  std::atomic<uint64_t> valid;
  uint64_t offset;
  std::byte data[kPage];
};

long userfaultfd(int flags) { return ::syscall(SYS_userfaultfd, flags); }

// One userfaultfd set-up inside the child: region, handler, reader.
class UffdContext {
 public:
  UffdContext(int data_fd, uint32_t read_len, uint64_t seed, LastRead* last)
      : data_fd_(data_fd), read_len_(read_len), rng_(seed), last_(last) {
    void* p = ::mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap");
    region_ = static_cast<std::byte*>(p);
    uffd_ = static_cast<int>(userfaultfd(O_CLOEXEC | O_NONBLOCK));
    if (uffd_ < 0) throw_errno("userfaultfd");
    uffdio_api api{UFFD_API, 0, 0};
    if (::ioctl(uffd_, UFFDIO_API, &api) < 0) throw_errno("UFFDIO_API");
    uffdio_register reg{{reinterpret_cast<uint64_t>(region_), kRegion}, UFFDIO_REGISTER_MODE_MISSING, 0};
    if (::ioctl(uffd_, UFFDIO_REGISTER, &reg) < 0) throw_errno("UFFDIO_REGISTER");
    handler_ = start_thread([this] { handle(); });
    try {
      reader_ = start_thread([this] { read_loop(); });
    } catch (...) {
      stop_ = true;
      close_uffd();
      handler_.join();
      ::munmap(region_, kRegion);
      throw;
    }
  }
  ~UffdContext() {
    stop_ = true;
    close_uffd();
    if (reader_.joinable()) reader_.join();
    if (handler_.joinable()) handler_.join();
    ::munmap(region_, kRegion);
  }
  void close_uffd() {
    if (int fd = uffd_.exchange(-1); fd >= 0) ::close(fd);
  }

 private:
  void handle() {
    const int fd = uffd_.load();
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      // A short timeout: poll holds a reference to the file, and the release
      // (the race) happens only when the last reference goes.
      int n = ::poll(&p, 1, 10);
      if (n < 0 || (p.revents & (POLLNVAL | POLLERR | POLLHUP))) return;
      if (n == 0) continue;
      uffd_msg msg{};
      if (::read(fd, &msg, sizeof msg) != sizeof msg) continue;
      if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
      const uint64_t page = msg.arg.pagefault.address & ~uint64_t{kPage - 1};
      uffdio_zeropage z{{page, kPage}, 0, 0};
      if (::ioctl(fd, UFFDIO_ZEROPAGE, &z) < 0 && errno != EEXIST) return;
    }
  }
  void read_loop() {
    auto engine = Engine::open("psync");  // through the engine layer, like every read (fault injection)
    while (!stop_) {
      const uint64_t foff = (rng_() % ((kFixtureSize - read_len_) / kPage)) * kPage;
      const uint64_t roff = (rng_() % ((kRegion - read_len_) / kPage)) * kPage;
      IoRequest r{data_fd_, region_ + roff, read_len_, foff, false, 0};
      int64_t n = 0;
      try {
        n = engine.run_one(r);
      } catch (const std::exception&) {
        n = -1;
      }
      if (n == static_cast<int64_t>(read_len_) && last_) {
        last_->valid.store(0);
        last_->offset = foff;
        std::memcpy(last_->data, region_ + roff, kPage);
        last_->valid.store(1);
      }
      (void)::madvise(region_, kRegion, MADV_DONTNEED);
    }
  }

  int data_fd_;
  uint32_t read_len_;
  std::mt19937_64 rng_;
  LastRead* last_;
  std::byte* region_ = nullptr;
  std::atomic<int> uffd_{-1};
  std::atomic<bool> stop_{false};
  std::thread handler_, reader_;
};

class UffdDioRelease final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    contexts_ = static_cast<unsigned>(ctx.params.integer("contexts"));
    close_ms_ = static_cast<unsigned>(ctx.params.integer("close_ms"));
    read_len_ = static_cast<uint32_t>(ctx.params.integer("read_kib") << 10);
    deadline_s_ = static_cast<double>(ctx.params.integer("deadline_ms")) / 1000.0;
    // userfaultfd here at all? (CONFIG_USERFAULTFD, vm.unprivileged_userfaultfd, seccomp)
    const long probe = userfaultfd(O_CLOEXEC);
    if (probe < 0) {
      if (errno == ENOSYS || errno == EPERM || errno == EACCES)
        throw SkipError(std::string("userfaultfd unavailable: ") + std::strerror(errno));
      throw_errno("userfaultfd");
    }
    ::close(static_cast<int>(probe));
    spec_ = {ctx.fixture_name("data"), {1, 1, kSeed}, kFixtureSize};
    ctx.target.ensure_fixture(spec_);
    void* p = ::mmap(nullptr, sizeof(LastRead) * contexts_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap shared");
    last_ = static_cast<LastRead*>(p);
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    for (unsigned c = 0; c < contexts_; ++c) last_[c].valid.store(0);
    const uint64_t seed = ctx.rng();
    auto outcome = run_with_deadline(
        [&]() -> int {
          auto fd = ctx.target.open_fixture(spec_.name, O_RDONLY | O_DIRECT);
          std::mt19937_64 rng(seed);
          std::vector<std::unique_ptr<UffdContext>> set;
          for (unsigned c = 0; c < contexts_; ++c)
            set.push_back(std::make_unique<UffdContext>(fd.get(), read_len_, rng(), &last_[c]));
          // Close each userfaultfd after its own random 2..close_ms ms.
          std::vector<unsigned> at(contexts_);
          for (auto& t : at) t = 2 + static_cast<unsigned>(rng() % (close_ms_ > 2 ? close_ms_ - 1 : 1));
          const auto t0 = std::chrono::steady_clock::now();
          for (unsigned done = 0; done < contexts_;) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
            for (unsigned c = 0; c < contexts_; ++c)
              if (at[c] && static_cast<unsigned>(ms.count()) >= at[c]) {
                set[c]->close_uffd();
                at[c] = 0;
                ++done;
              }
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          set.clear();  // stops and joins every thread: this is where a livelock never returns
          return 0;
        },
        deadline_s_, fmt::format("a child closing {} userfaultfds under O_DIRECT reads", contexts_));
    ctx.stats.ios.fetch_add(contexts_, std::memory_order_relaxed);
    if (outcome.finding) {
      outcome.finding->detail["iteration"] = i;
      const bool recovered = outcome.finding->detail.value("recovered", false);
      ctx.report(std::move(outcome.finding));
      if (!recovered) throw SetupError("the hung child could not be killed: the case cannot go on");
      return {};
    }
    if (!WIFEXITED(outcome.status) || WEXITSTATUS(outcome.status) != 0)
      throw SetupError("the child failed: " + describe_wait_status(outcome.status));
    std::vector<Corruption> found;
    for (unsigned c = 0; c < contexts_; ++c) {
      if (!last_[c].valid.load()) continue;
      std::span<const std::byte> page(last_[c].data, kPage);
      for (auto& bad : Verifier(spec_.key, spec_.name).verify(page, last_[c].offset)) {
        bad.context = fmt::format("iteration {}: context {}'s last O_DIRECT read into its userfaultfd region", i, c);
        found.push_back(std::move(bad));
      }
    }
    return found;
  }

  void teardown(CaseContext&) noexcept override {
    if (last_) ::munmap(last_, sizeof(LastRead) * contexts_);
    last_ = nullptr;
  }

 private:
  unsigned contexts_ = 0, close_ms_ = 0;
  uint32_t read_len_ = 0;
  double deadline_s_ = 0;
  FixtureSpec spec_;
  LastRead* last_ = nullptr;
};

const Registrar registrar{CaseInfo{
    .name = "uffd_dio_release",
    .summary = "closing a userfaultfd while O_DIRECT reads pin its pages livelocks (the child hangs)",
    .races = "userfaultfd_release() marking the context released vs GUP of an O_DIRECT read faulting through "
             "handle_userfault() with mmap_lock held (VM_FAULT_NOPAGE retried forever)",
    .seed_thread = "RACES.md bug 4 (mm/userfaultfd: fix release hang over concurrent GUP)",
    .fixed_by = {{"fe4cdc2c4e248f48de23bc778870fd71e772a274", "mm/userfaultfd: fix release hang over concurrent GUP", "v6.15"}},
    .known_bad = {"< 6.15 (6.12 < 6.12.24)", "Debian 6.1 (6.1.170 .. 6.1.192, measured)"},
    .needs = kNeedODirect,
    .oracles = {Oracle::deadline, Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .params =
        {
            {"contexts", "userfaultfd set-ups side by side in each child", 4, 1, 64, {}},
            {"close_ms", "each userfaultfd is closed after a random 2..close_ms ms", 22, 3, 10000, {}},
            {"read_kib", "size of each O_DIRECT read into the registered region (KiB, multiple of 4)", 1024, 4, 4096,
             {}},
            // 1 s: on Debian 6.12.118 (fixed) with two VMs at once on 2 cores, 200 ms
            // called a slow child hung once in 727 children; 500 ms and more never
            // (583, 559 and 538 children at 500, 1000, 3000 ms; ci/bench --deadlines).
            {"deadline_ms", "a child not finished by then is hung", 1000, 100, 600000, {}},
        },
    .iteration_timeout_s = 120,
    .controls = with_series({
        {kDebian61, Verdict::fail, {}, FailKind::hang, false, 60, "userfaultfd release vs GUP livelock"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 60, "has fe4cdc2c4e24 (6.12.24)"},
    }),
    .make = [] { return std::make_unique<UffdDioRelease>(); },
    .validate =
        [](const ParamValues& p) {
          if (p.integer("read_kib") % 4) throw UsageError("uffd_dio_release: read_kib must be a multiple of 4");
        },
}};

}  // namespace
}  // namespace diorace
