// SPDX-License-Identifier: GPL-2.0-or-later
// dio_wq_teardown: the first async O_DIRECT writes of a fresh superblock race
// into the allocation of its DIO completion workqueue (seed 001).
//
// What races: the first O_DIRECT write that needs deferred completion
// (unwritten-extent conversion, O_DSYNC, or -- on XFS -- an extending write)
// calls sb_init_dio_done_wq(), which allocates sb->s_dio_done_wq; several
// threads arriving at once each allocate one, one wins the cmpxchg, and the
// losers destroy_workqueue() theirs. Lockdep saw that destroy as a possible
// deadlock (flush of a workqueue from under the filesystem's locks): the
// report Eric Biggers answered with "fs/direct-io.c: avoid workqueue
// allocation race" (2020), and the thread in seed 001 argued the fix belongs
// in the workqueue lockdep annotations instead. The race itself is still hit
// on current kernels (../shared/kernels/README.md: ~6 losing workqueues per
// fresh mount with 8 writers on 6.1 and 6.12); only lockdep can report it.
//
// How: every iteration makes a fresh filesystem (mkfs on the scratch device
// the user named, --scratch-device, or else on a loop device over a sparse
// file diorace creates in the target directory, direct I/O on),
// mounts it, prepares `threads` files (fallocated, empty, or O_DSYNC, per
// write_mode), releases the threads at one barrier so each submits its first
// async O_DIRECT write (libaio) at the same moment, waits, unmounts, mounts
// again and verifies every file, unmounts and detaches the loop device.
// Note (FACTS, kernels README): ext4 forces extending async DIO writes to
// wait, so they never reach the workqueue on ext4; XFS does not force them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <barrier>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "diorace/blockdev.hpp"
#include "diorace/buffer.hpp"
#include "diorace/device.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/registry.hpp"
#include "diorace/threads.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr uint64_t kSeed = 0xd10ddead;

class DioWqTeardown final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const auto& p = ctx.params;
    fstype_ = p.choice("fs");
    mode_ = p.choice("write_mode");
    threads_ = static_cast<unsigned>(p.integer("threads"));
    write_bytes_ = static_cast<uint32_t>(p.integer("write_kib") << 10);
    if (ctx.target.read_only()) throw SkipError("makes filesystems; --read-only forbids writing");
    mkfs_options_ = ctx.target.mkfs_options;
    mnt_ = ctx.target.file("diorace-dio_wq_teardown-mnt");
    std::filesystem::create_directories(mnt_);
    if (!ctx.target.scratch_device.empty()) {
      dev_ = ctx.target.scratch_device;  // checked for safety by the runner
      scratch_ = true;
    } else {
      image_ = ctx.target.file(ctx.fixture_name("image").replace(ctx.fixture_name("image").size() - 4, 4, ".img"));
      {
        auto fd = UniqueFd::create_new(image_, O_RDWR, 0644);
        // XFS wants at least 300 MiB; the file is sparse, so this costs nothing.
        if (::ftruncate(fd.get(), (fstype_ == "xfs" ? 320ll : 64ll) << 20) < 0) throw_errno("truncate " + image_);
      }
      loop_ = LoopDevice::attach(image_, true);
      dev_ = loop_.path();
    }
    (void)Engine::open("libaio");  // SKIP here if AIO is unavailable
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    make_filesystem(dev_, fstype_, mkfs_options_);
    std::vector<Corruption> found;
    const uint32_t generation = static_cast<uint32_t>(i + 1);
    {
      auto mount = Mount::make(dev_, mnt_, fstype_);
      std::vector<UniqueFd> fds;
      std::vector<AlignedBuffer> bufs;
      std::vector<Engine> engines;
      for (unsigned t = 0; t < threads_; ++t) {
        std::string mode = mode_ == "mixed" ? std::vector<std::string>{"fallocated", "dsync", "extending"}[t % 3] : mode_;
        int flags = O_RDWR | O_CREAT | O_DIRECT | (mode == "dsync" ? O_DSYNC : 0);
        fds.push_back(UniqueFd::open(file(t), flags, 0644));
        if (mode == "fallocated" && ::fallocate(fds.back().get(), 0, 0, write_bytes_) < 0)
          throw_errno("fallocate " + file(t));
        bufs.push_back(AlignedBuffer::create(write_bytes_, 4096));
        fill_pattern(bufs.back().span(), {t + 1, generation, kSeed}, 0);
        engines.push_back(Engine::open("libaio", {.depth = 1}));
      }
      std::barrier go(threads_);
      std::vector<int64_t> res(threads_, 0);
      JoinedThreads th;
      auto release_missing = [&] { (void)go.arrive(static_cast<ptrdiff_t>(threads_ - th.size())); };
      for (unsigned t = 0; t < threads_; ++t) try {
        th.start([&, t] {
          go.arrive_and_wait();  // every thread's first async write starts together
          IoRequest r{fds[t].get(), bufs[t].data(), write_bytes_, 0, true, t};
          try {
            res[t] = engines[t].run_one(r);
          } catch (const std::system_error& e) {
            res[t] = -e.code().value();
          }
        });
      } catch (...) {
        release_missing();  // the threads already started pass the barrier, then join
        throw;
      }
      th.join();
      for (unsigned t = 0; t < threads_; ++t)
        if (res[t] != static_cast<int64_t>(write_bytes_))
          throw std::system_error(res[t] < 0 ? static_cast<int>(-res[t]) : EIO, std::generic_category(),
                                  fmt::format("thread {}: first async O_DIRECT write returned {}", t, res[t]));
      ctx.stats.ios.fetch_add(threads_, std::memory_order_relaxed);
    }  // unmount
    {
      // Verify after a remount: what the writes put on disk, not the cache.
      auto mount = Mount::make(dev_, mnt_, fstype_);
      auto buf = AlignedBuffer::create(write_bytes_, 4096);
      auto reader = Engine::open("psync");
      for (unsigned t = 0; t < threads_; ++t) {
        auto fd = UniqueFd::open(file(t), O_RDONLY | O_DIRECT);
        buf.fill(std::byte{0});
        IoRequest r{fd.get(), buf.data(), write_bytes_, 0, false, t};
        if (int64_t n = reader.run_one(r); n != static_cast<int64_t>(write_bytes_))
          throw std::system_error(n < 0 ? static_cast<int>(-n) : EIO, std::generic_category(), "read back " + file(t));
        for (auto& c : Verifier({t + 1, generation, kSeed}, fmt::format("f{}", t)).verify(buf.span(), 0)) {
          c.context = fmt::format("iteration {}: file of thread {} after remount ({} on {})", i, t, fstype_, dev_);
          found.push_back(std::move(c));
        }
      }
      ctx.stats.ios.fetch_add(threads_, std::memory_order_relaxed);
    }
    return found;
  }

  void teardown(CaseContext&) noexcept override {
    loop_.detach();
    // A scratch device is left without the signature this case put there,
    // so that the next run's safety check does not mistake it for data.
    if (scratch_) {
      try {
        wipe_signatures(dev_);
      } catch (const std::exception&) {
      }
    }
    std::error_code ec;
    std::filesystem::remove(mnt_, ec);
    if (!image_.empty()) std::filesystem::remove(image_, ec);
  }

 private:
  std::string file(unsigned t) const { return fmt::format("{}/f{}", mnt_, t); }

  std::string fstype_, mode_, image_, mnt_, dev_, mkfs_options_;
  bool scratch_ = false;
  unsigned threads_ = 0;
  uint32_t write_bytes_ = 0;
  LoopDevice loop_;
};

const Registrar registrar{CaseInfo{
    .name = "dio_wq_teardown",
    .summary = "first async O_DIRECT writes of a fresh superblock race into sb_init_dio_done_wq",
    .races = "concurrent sb_init_dio_done_wq() allocations on a fresh superblock; the losers' destroy_workqueue() "
             "under filesystem locks (lockdep)",
    .seed_thread = "001: Re: [PATCH] fs/direct-io.c: avoid workqueue allocation race (2020)",
    .fixed_by = {},
    .known_bad = {"every kernel hits the allocation race; lockdep reported it on 5.6-era kernels (seed 001)"},
    .needs = kNeedRoot | kNeedLoop | kNeedLibaio,
    .oracles = {Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .detectors = {"CONFIG_PROVE_LOCKING"},
    .own_signatures = {"sb_init_dio_done_wq", "dio/"},
    // Every entry beyond the first per fresh mount is a thread that raced
    // into the allocation (it will destroy its workqueue).
    .probes = {{"sb_init_dio_done_wq", "beyond_first"}},
    .params =
        {
            {"fs", "filesystem made on the loop device each iteration", 0, 0, 0, {"ext4", "xfs"}},
            {"threads", "writers released together at one barrier", 8, 2, 64, {}},
            {"write_mode", "what makes the first write need deferred completion", 0, 0, 0,
             {"fallocated", "dsync", "extending", "mixed"}},
            {"write_kib", "size of each first write (KiB, multiple of 4)", 64, 4, 4096, {}},
        },
    .iteration_timeout_s = 300,
    .controls = {
        {kDebug612, Verdict::pass, {}, FailKind::none, false, 20,
         "regression guard: the race is hit on every kernel; lockdep armed and silent"},
    },
    .make = [] { return std::make_unique<DioWqTeardown>(); },
    .validate =
        [](const ParamValues& p) {
          if (p.integer("write_kib") % 4) throw UsageError("dio_wq_teardown: write_kib must be a multiple of 4");
        },
}};

}  // namespace
}  // namespace diorace
