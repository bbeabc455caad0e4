// SPDX-License-Identifier: GPL-2.0-or-later
// ext4_inline_dio: an O_DIRECT write races with the creation of inline data
// (RACES.md bug 1; CVE-2023-52786, fixed in v6.7, not in 6.1: its stable
// backport failed).
//
// What races: ext4_dio_write_iter() checks "no inline data" under the shared
// inode lock, but 6.1 clears EXT4_STATE_MAY_INLINE_DATA only after
// ext4_dio_write_checks(), which may drop the lock and take it exclusively.
// A buffered writer that gets in between stores its few bytes as inline
// data; the O_DIRECT write then reaches ext4_iomap_begin(), trips
// WARN_ON_ONCE(ext4_has_inline_data(inode)) and fails with -ERANGE. The fix,
// ce56d21355cd ("ext4: fix racy may inline data check in dio write"), clears
// the flag before the checks.
//
// How: on an ext4 made with -O inline_data (its own loop device, or
// --scratch-device), each iteration runs `attempts` races: a fresh file
// truncated to 4 KiB (a hole), thread A writes 4 KiB at 0 with O_DIRECT while
// thread B, after a random spin of 0..spin loop turns, writes 5 bytes at 0
// through the page cache. Both threads live for the whole case and are
// released together by a barrier. Oracle: the O_DIRECT write's result (4096
// owed; -ERANGE is the bug), with the file, attempt and iteration as
// evidence; the kernel log's WARNING when it is the first hit of the boot.
// A successful write is read back: the file must hold A's data, with or
// without B's 5 bytes on top, or B's bytes over the hole (buffered and direct
// writes to one page have no order between them); anything else is corruption.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/oracles.hpp"
#include "diorace/registry.hpp"
#include "diorace/threads.hpp"
#include "diorace/scratchfs.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr uint64_t kSeed = 0x11e4d10;
constexpr char kSmall[] = "hello";  // 5 bytes: small enough to be stored inline
constexpr unsigned kInlineFlag = 0x10000000;  // FS_INLINE_DATA_FL

class Ext4InlineDio final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    attempts_ = static_cast<unsigned>(ctx.params.integer("attempts"));
    spin_ = static_cast<unsigned>(ctx.params.integer("spin"));
    fs_ = ScratchFilesystem::make(ctx.target,
                                  {.name = "ext4_inline_dio", .fstype = "ext4", .mkfs_options = "-O inline_data"});
    require_inline_data();
    data_ = AlignedBuffer::create(4096, 4096);
    fill_pattern(data_.span(), key_, 0);
    check_ = AlignedBuffer::create(4096, 4096);
    reader_ = Engine::open("psync");
    writers_.start([this] { writer(true); });
    writers_.start([this] { writer(false); });
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    std::vector<Corruption> found;
    const std::string path = fs_.file("f");
    for (unsigned a = 0; a < attempts_ && !ctx.stop_requested(); ++a) {
      auto direct = UniqueFd::create_new(path, O_RDWR | O_DIRECT, 0644);
      if (::ftruncate(direct.get(), 4096) < 0) throw_errno("ftruncate " + path);
      auto buffered = UniqueFd::open(path, O_RDWR);
      fd_direct_ = direct.get();
      fd_buffered_ = buffered.get();
      spin_turns_ = spin_ ? static_cast<unsigned>(ctx.rng() % (spin_ + 1)) : 0;
      start_.arrive_and_wait();  // A and B race
      done_.arrive_and_wait();
      ctx.stats.ios.fetch_add(2, std::memory_order_relaxed);
      if (!error_b_.empty()) throw SetupError(error_b_);
      const nlohmann::json context = {{"file", path}, {"iteration", i}, {"attempt", a}, {"spin", spin_turns_.load()}};
      auto finding = check_owed("pwrite(O_DIRECT, 4096 at 0)", result_a_, 4096, context,
                                "a 4 KiB O_DIRECT write over a 4 KiB hole of an ext4 inline_data file, raced by a "
                                "5-byte buffered write");
      if (finding) {
        ctx.report(std::move(finding));
        break;  // one is evidence enough; the next iteration goes on with --keep-going
      }
      if (result_a_ == 4096) check_contents(direct.get(), path, i, a, found);
      if (!found.empty()) break;
    }
    return found;
  }

  void teardown(CaseContext&) noexcept override {
    stopping_ = true;
    if (writers_.size()) {
      // Stands in for writer B too when it could not be created.
      (void)start_.arrive(static_cast<ptrdiff_t>(3 - writers_.size()));
      writers_.join();
    }
    reader_ = Engine();
    fs_ = ScratchFilesystem();
  }

 private:
  // The kernel and mkfs both do inline data here, or this is a SKIP.
  void require_inline_data() {
    const std::string probe = fs_.file("probe");
    {
      auto fd = UniqueFd::create_new(probe, O_RDWR, 0644);
      write_all(fd.get(), kSmall, 5, "write " + probe);
      if (::fsync(fd.get()) < 0) throw_errno("fsync " + probe);
      unsigned flags = 0;
      if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) < 0) throw_errno("FS_IOC_GETFLAGS " + probe);
      if (!(flags & kInlineFlag))
        throw SkipError("ext4 on " + fs_.device() + " stores no inline data (mkfs or kernel without inline_data)");
    }
    ::unlink(probe.c_str());
  }

  void writer(bool direct) {
    for (;;) {
      start_.arrive_and_wait();
      if (stopping_) return;
      if (direct) {
        ssize_t n = ::pwrite(fd_direct_, data_.data(), 4096, 0);
        result_a_ = n < 0 ? -static_cast<int64_t>(errno) : n;
      } else {
        volatile unsigned sink = 0;
        for (unsigned t = spin_turns_; t > 0; --t) sink = sink + t;
        if (::pwrite(fd_buffered_, kSmall, 5, 0) != 5) error_b_ = std::string("buffered write: ") + std::strerror(errno);
      }
      done_.arrive_and_wait();
    }
  }

  // A's data, with or without B's 5 bytes on top, or B's bytes over zeros.
  void check_contents(int fd, const std::string& path, uint64_t i, unsigned a, std::vector<Corruption>& found) {
    check_.fill(std::byte{0xfa});
    IoRequest r{fd, check_.data(), 4096, 0, false, a};
    if (int64_t n = reader_.run_one(r); n != 4096)
      throw std::system_error(n < 0 ? static_cast<int>(-n) : EIO, std::generic_category(), "read back " + path);
    const auto* got = reinterpret_cast<const unsigned char*>(check_.data());
    const auto* want = reinterpret_cast<const unsigned char*>(data_.data());
    const bool b_on_top = std::memcmp(got, kSmall, 5) == 0;
    if (std::memcmp(got, want, 4096) == 0) return;
    if (b_on_top && std::memcmp(got + 5, want + 5, 4091) == 0) return;
    bool b_over_hole = b_on_top;
    for (size_t k = 5; k < 4096 && b_over_hole; ++k) b_over_hole = got[k] == 0;
    if (b_over_hole) return;
    if (b_on_top) std::memcpy(check_.data(), data_.data(), 5);  // report what differs beyond B's bytes
    for (auto& c : Verifier(key_, "f", {.fill = std::byte{0xfa}}).verify(check_.span(), 0)) {
      c.context = fmt::format("iteration {} attempt {}: read back after the race", i, a);
      found.push_back(std::move(c));
    }
  }

  PatternKey key_{1, 1, kSeed};
  unsigned attempts_ = 0, spin_ = 0;
  ScratchFilesystem fs_;
  AlignedBuffer data_, check_;
  Engine reader_;
  JoinedThreads writers_;  // writer A, writer B
  std::barrier<> start_{3}, done_{3};
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> spin_turns_{0};
  int fd_direct_ = -1, fd_buffered_ = -1;
  int64_t result_a_ = 0;
  std::string error_b_;
};

const Registrar registrar{CaseInfo{
    .name = "ext4_inline_dio",
    .summary = "an O_DIRECT write racing inline-data creation on ext4 fails with ERANGE",
    .races = "ext4_dio_write_iter() clearing EXT4_STATE_MAY_INLINE_DATA after ext4_dio_write_checks() (which may "
             "drop the inode lock) vs a buffered write creating inline data",
    .seed_thread = "RACES.md bug 1 (ext4: fix racy may inline data check in dio write; CVE-2023-52786)",
    .fixed_by = {{"ce56d21355cd6f6937aca32f1f44ca749d1e4808", "ext4: fix racy may inline data check in dio write", "v6.7"}},
    .known_bad = {"< 6.7 (the 6.1 stable backport failed)", "Debian 6.1 (6.1.170 .. 6.1.192, measured)"},
    .needs = kNeedRoot | kNeedLoop | kNeedODirect,
    .oracles = {Oracle::result, Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .own_signatures = {"ext4_iomap_begin"},
    .params =
        {
            {"attempts", "races per iteration (fresh file each)", 200, 1, 100000, {}},
            {"spin", "the buffered writer waits a random 0..spin loop turns before writing", 1500, 0, 1000000, {}},
        },
    .iteration_timeout_s = 120,
    .controls = with_series({
        {kDebian61, Verdict::fail, {}, FailKind::wrong_result, false, 60, "clears MAY_INLINE_DATA after the checks"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 60, "has ce56d21355cd (v6.7)"},
    }),
    .make = [] { return std::make_unique<Ext4InlineDio>(); },
}};

}  // namespace
}  // namespace diorace
