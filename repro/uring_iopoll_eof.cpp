// SPDX-License-Identifier: GPL-2.0-or-later
// uring_iopoll_eof: io_uring IOPOLL loses the bytes of a partial read
// (RACES.md bug 2; fixed upstream in 2026, in Debian's 6.12.97+, not in 6.1).
//
// What goes wrong: a polled O_DIRECT read (IORING_SETUP_IOPOLL) that crosses
// end of file over a hole or an unwritten extent completes short (4096 of
// 8192, no bio was issued for the hole); io_uring keeps the 4096 and retries
// the rest from an io-wq worker, which reads 0 at EOF; 6.1's
// io_complete_rw_iopoll() then posts that raw 0 instead of adding back the
// 4096 already done (the non-polled path adds it back; the fix,
// io_fixup_rw_res() in the polled path, does too). User space is told it
// read nothing while the buffer holds the data.
//
// How: on a filesystem the case makes (variants ext4 and xfs, on a loop
// device or --scratch-device) or in the target directory itself (variant
// target: whatever filesystem that is), every iteration makes files of a few
// shapes --
// a hole (ftruncate) or an unwritten extent (fallocate), 4 KiB or 12 KiB
// long -- and reads across EOF with one polled O_DIRECT read per shape
// (several lengths and offsets). Oracle: the completion's byte count against
// what the file allows (end of file minus offset), and the bytes read must
// be the zeros a hole or unwritten extent holds.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/oracles.hpp"
#include "diorace/registry.hpp"
#include "diorace/scratchfs.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

constexpr std::byte kFill{0xfa};

struct Shape {
  const char* make;  // "truncate": a hole; "fallocate": an unwritten extent
  uint32_t size;     // file size
  uint32_t offset;   // read offset
  uint32_t length;   // read length (crosses EOF)
};

constexpr Shape kShapes[] = {
    {"truncate", 4096, 0, 8192},      {"fallocate", 4096, 0, 8192},      {"truncate", 4096, 0, 16384},
    {"fallocate", 12288, 0, 16384},   {"truncate", 12288, 8192, 8192},   {"fallocate", 12288, 4096, 12288},
    {"truncate", 12288, 0, 65536},    {"fallocate", 4096, 0, 65536},
};

class UringIopollEof final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const std::string variant = ctx.variant.empty() ? "ext4" : ctx.variant;
    if (variant == "target") {
      dir_ = ctx.target.path();
      prefix_ = "diorace-uring_iopoll_eof-";
      fstype_ = ctx.target.fs_type();
      where_ = dir_;
    } else {
      fs_ = ScratchFilesystem::make(
          ctx.target, {.name = "uring_iopoll_eof", .fstype = variant, .size_mib = variant == "xfs" ? 320u : 64u});
      dir_ = fs_.dir();
      fstype_ = fs_.fstype();
      where_ = fs_.device();
    }
    try {
      ring_ = Engine::open("io_uring", {.depth = 4, .iopoll = true});
    } catch (const SkipError& e) {
      throw SkipError(std::string("io_uring IOPOLL rings unavailable: ") + e.what());
    }
    buf_ = AlignedBuffer::create(65536, 4096);
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    std::vector<Corruption> found;
    for (size_t s = 0; s < std::size(kShapes); ++s) {
      const Shape& sh = kShapes[s];
      const std::string name = fmt::format("{}f{}", prefix_, s);
      const std::string path = dir_ + "/" + name;
      auto fd = UniqueFd::create_new(path, O_RDWR | O_DIRECT, 0644);
      if (std::string(sh.make) == "truncate") {
        if (::ftruncate(fd.get(), sh.size) < 0) throw_errno("ftruncate " + path);
      } else if (::fallocate(fd.get(), 0, 0, sh.size) < 0) {
        if (errno == EOPNOTSUPP) throw SkipError(fstype_ + " cannot fallocate here");
        throw_errno("fallocate " + path);
      }
      buf_.fill(kFill);
      const int64_t owed = static_cast<int64_t>(sh.size) - sh.offset;
      IoRequest r{fd.get(), buf_.data(), sh.length, sh.offset, false, s};
      const int64_t got = ring_.run_one(r);
      ctx.stats.ios.fetch_add(1, std::memory_order_relaxed);
      if (got == -EOPNOTSUPP || (got == -EINVAL && i == 0 && s == 0))
        throw SkipError(fstype_ + " on " + where_ + " does not support polled (IOPOLL) O_DIRECT reads: " +
                        std::strerror(static_cast<int>(-got)));
      const nlohmann::json context = {{"file", name},   {"shape", sh.make},       {"size", sh.size},
                                      {"offset", sh.offset}, {"length", sh.length}, {"fs", fstype_},
                                      {"iteration", i}};
      ctx.report(check_owed("io_uring IOPOLL read", got, owed, context,
                            fmt::format("the read crosses end of file at {} from offset {}: {} bytes remain",
                                        sh.size, sh.offset, owed)));
      // The data must be there whatever the count said: the zeros of the
      // hole or unwritten extent up to end of file.
      for (auto& c : verify_zeros({buf_.data(), static_cast<size_t>(owed)}, sh.offset, name, kFill)) {
        c.context = fmt::format("iteration {}: polled read of {} bytes at {} from a {} of {} bytes ({})", i,
                                sh.length, sh.offset, sh.make == std::string("truncate") ? "hole" : "unwritten extent",
                                sh.size, fstype_);
        found.push_back(std::move(c));
      }
    }
    return found;
  }

  void teardown(CaseContext&) noexcept override {
    ring_ = Engine();
    if (!prefix_.empty())
      for (size_t s = 0; s < std::size(kShapes); ++s) ::unlink(fmt::format("{}/{}f{}", dir_, prefix_, s).c_str());
    fs_ = ScratchFilesystem();
  }

 private:
  std::string dir_, prefix_, fstype_, where_;
  ScratchFilesystem fs_;
  Engine ring_;
  AlignedBuffer buf_;
};

const Registrar registrar{CaseInfo{
    .name = "uring_iopoll_eof",
    .summary = "io_uring IOPOLL O_DIRECT reads across EOF over holes/unwritten extents report 0 bytes",
    .races = "a polled O_DIRECT read completing short at a hole is retried from io-wq, which reads 0 at EOF; "
             "io_complete_rw_iopoll() posts that 0 instead of the bytes already read",
    .seed_thread = "RACES.md bug 2 (io_uring/rw: preserve partial result for iopoll)",
    .fixed_by = {{"c554246ff4c68abf71b61a89c6e39d3cf94f523e", "io_uring/rw: preserve partial result for iopoll"}},
    .known_bad = {">= 4d9cb92ca41d (io_uring/rw: fix short rw error handling) without the fix",
                  "Debian 6.1 (6.1.170 .. 6.1.192, measured)", "Debian 6.12 before 6.12.97"},
    .needs = kNeedRoot | kNeedLoop | kNeedIoUring | kNeedODirect,
    .oracles = {Oracle::result, Oracle::data, Oracle::kmsg, Oracle::taint, Oracle::hang},
    .params =
        {
            {"variant", "filesystem the files are on (all: each, reported separately)", 0, 0, 0,
             {"all", "ext4", "xfs", "target"}},
        },
    .iteration_timeout_s = 60,
    .variants = {"ext4", "xfs", "target"},
    .controls = with_series({
        {kDebian61, Verdict::fail, {}, FailKind::wrong_result, false, 60, "posts the raw 0 of the retried read"},
        {kDebian612, Verdict::pass, {}, FailKind::none, false, 20, "has c554246ff4c6 (6.12.97); 20 s per variant"},
    }),
    .make = [] { return std::make_unique<UringIopollEof>(); },
}};

}  // namespace
}  // namespace diorace
