// SPDX-License-Identifier: GPL-2.0-or-later
// loop_dio_freeze: a loop device in direct-I/O mode writes into a frozen
// filesystem (RACES.md bug 3; fixed in v6.16, in Debian's 6.12.34+, not 6.1).
//
// What goes wrong: with direct I/O on, the loop driver's lo_rw_aio() calls
// the backing file's ->write_iter without freeze protection (the buffered
// path takes it through file_start_write()), so a write to /dev/loopN lands
// in a filesystem that FIFREEZE froze: ext4 starts journal handles while
// frozen (WARNING in ext4_journal_check_start on 6.1) and the frozen image
// is no longer what was frozen. Fixed by 39d86db34e41 ("loop: add
// file_start_write() and file_end_write()") and c4706c5058a7 ("loop: use
// kiocb helpers to fix lockdep warning"): the write now waits for the thaw.
//
// How: set-up makes its own ext4 (the "backing filesystem", on a loop device
// or --scratch-device: never the user's filesystem, which freezing would
// stall), a sparse image on it, and an inner loop device over that image
// with direct I/O on. Each iteration a guardian process freezes the backing
// filesystem; the case writes 4 KiB with O_DIRECT at a fresh offset of the
// inner loop device; a write that completes within `window_ms` while the
// filesystem is frozen is the bug (oracle: a write that must have blocked).
// Then the guardian thaws, the write finishes, and it is read back and
// verified. The guardian thaws on the case's word, when the case dies, and in
// any case after `window_ms` + 3 s: a killed case never leaves a frozen
// filesystem behind, and its mounts and loop devices go with it.
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <fmt/format.h>

#include "diorace/blockdev.hpp"
#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "diorace/fd.hpp"
#include "diorace/oracles.hpp"
#include "diorace/process.hpp"
#include "diorace/freeze.hpp"
#include "diorace/registry.hpp"
#include "diorace/scratchfs.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr uint64_t kImageSize = 256ull << 20;
constexpr uint64_t kSeed = 0x10091005;

class LoopDioFreeze final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    window_ = std::chrono::milliseconds(ctx.params.integer("window_ms"));
    backing_ = ScratchFilesystem::make(ctx.target, {.name = "loop_dio_freeze", .fstype = "ext4", .size_mib = 512});
    image_ = backing_.file("image");
    {
      auto fd = UniqueFd::create_new(image_, O_RDWR, 0644);
      if (::ftruncate(fd.get(), static_cast<off_t>(kImageSize)) < 0) throw_errno("truncate " + image_);
    }
    inner_ = LoopDevice::attach(image_, true);
    std::string dio;
    const std::string sys = "/sys/block/" + inner_.path().substr(5) + "/loop/dio";
    if (try_read_file(sys, dio) && dio.rfind('1', 0) != 0)
      throw SkipError(inner_.path() + " would not switch to direct I/O (" + sys + " reads " + dio.substr(0, 1) + ")");
    dev_ = UniqueFd::open(inner_.path(), O_RDWR | O_DIRECT);
    reader_ = Engine::open("psync");
    buf_ = AlignedBuffer::create(4096, 4096);
    check_ = AlignedBuffer::create(4096, 4096);
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    // A fresh block each iteration, so that the write must allocate in the
    // backing filesystem (ext4 then needs a journal handle).
    const uint64_t offset = (ctx.rng() % (kImageSize / 4096)) * 4096;
    const PatternKey key{1, static_cast<uint32_t>(i + 1), kSeed};
    fill_pattern(buf_.span(), key, offset);
    std::optional<Finding> finding;
    {
      auto frozen = FreezeGuardian::freeze(backing_.dir(), static_cast<int>(window_.count()) + 3000);
      auto write = MustBlock::start([&] {
        ssize_t n = ::pwrite(dev_.get(), buf_.data(), 4096, static_cast<off_t>(offset));
        return n < 0 ? -static_cast<int64_t>(errno) : static_cast<int64_t>(n);
      });
      if (write.completed_within(window_)) {
        Finding f;
        f.kind = FailKind::not_blocked;
        f.oracle = "must_block";
        f.summary = fmt::format("a 4 KiB O_DIRECT write to {} (direct I/O over {}) completed while its backing "
                                "ext4 was frozen",
                                inner_.path(), image_);
        f.text = f.summary + fmt::format("; offset 0x{:x}, iteration {}; the write must wait for FITHAW", offset, i);
        if (fault_active()) f.text += " [fault injected: the write was taken as completed]";
        f.detail = {{"device", inner_.path()}, {"backing_file", image_}, {"offset", offset}, {"iteration", i},
                    {"window_ms", window_.count()}};
        finding = std::move(f);
      }
      const auto seen = std::chrono::steady_clock::now();  // the write was seen done by now
      if (!frozen.thaw()) throw SetupError("FITHAW " + backing_.dir() + " failed");
      // A guardian that thawed before it was asked (its pipe closed under
      // it) proves no frozen window: no verdict on the kernel.
      if (finding && frozen.thawed_at_ns() != 0 &&
          frozen.thawed_at_ns() < std::chrono::duration_cast<std::chrono::nanoseconds>(seen.time_since_epoch()).count())
        throw SetupError("the freeze guardian of " + backing_.dir() + " thawed before the write was seen done");
      const int64_t n = write.finish(std::chrono::seconds(60));
      if (n != 4096)
        throw std::system_error(n < 0 ? static_cast<int>(-n) : EIO, std::generic_category(),
                                fmt::format("O_DIRECT write to {} after the thaw returned {}", inner_.path(), n));
    }
    ctx.report(std::move(finding));
    ctx.stats.ios.fetch_add(2, std::memory_order_relaxed);
    // What was written is what reads back.
    check_.fill(std::byte{0xfa});
    IoRequest r{dev_.get(), check_.data(), 4096, offset, false, i};
    if (int64_t n = reader_.run_one(r); n != 4096)
      throw std::system_error(n < 0 ? static_cast<int>(-n) : EIO, std::generic_category(), "read back " + inner_.path());
    auto bad = Verifier(key, "loop device " + inner_.path(), {.fill = std::byte{0xfa}}).verify(check_.span(), offset);
    for (auto& c : bad) c.context = fmt::format("iteration {}: the block written during the freeze, read back", i);
    return bad;
  }

  void teardown(CaseContext&) noexcept override {
    dev_ = UniqueFd();
    inner_.detach();
    backing_ = ScratchFilesystem();
  }

 private:
  std::chrono::milliseconds window_{1000};
  ScratchFilesystem backing_;
  std::string image_;
  LoopDevice inner_;
  UniqueFd dev_;
  Engine reader_;
  AlignedBuffer buf_, check_;
};

const Registrar registrar{CaseInfo{
    .name = "loop_dio_freeze",
    .summary = "an O_DIRECT write to a direct-I/O loop device completes while its backing ext4 is frozen",
    .races = "loop lo_rw_aio() -> backing ->write_iter() without file_start_write() vs FIFREEZE of the backing "
             "filesystem",
    .seed_thread = "RACES.md bug 3 (loop: add file_start_write() and file_end_write())",
    .fixed_by = {{"39d86db34e41b96bd86f1955cd0ce6cd9c5fca4c", "loop: add file_start_write() and file_end_write()", "v6.16"},
                 {"c4706c5058a7bd7d7c20f3b24a8f523ecad44e83", "loop: use kiocb helpers to fix lockdep warning"}},
    .known_bad = {"< 6.16 (6.12 < 6.12.34)", "Debian 6.1 (6.1.170 .. 6.1.192, measured)"},
    .needs = kNeedRoot | kNeedLoop | kNeedODirect,
    .oracles = {Oracle::must_block, Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .params =
        {
            {"window_ms", "how long the write must stay blocked while the filesystem is frozen", 1000, 100, 60000,
             {}},
        },
    .iteration_timeout_s = 90,
    .controls = with_series({
        {kDebian61, Verdict::fail, {}, FailKind::not_blocked, false, 60, "lo_rw_aio() without file_start_write()"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 60, "has 39d86db34e41 (6.12.34)"},
    }),
    .make = [] { return std::make_unique<LoopDioFreeze>(); },
}};

}  // namespace
}  // namespace diorace
