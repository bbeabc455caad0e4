// SPDX-License-Identifier: GPL-2.0-or-later
// Harness self-test cases. They are test_only: hidden from "all" and from
// `list` (unless --all), and exist to prove the oracles end to end.
//   selftest_hang  - blocks in the kernel past its iteration deadline (hang oracle)
//   selftest_kmsg  - writes a given line to /dev/kmsg during the case (kmsg oracle)
//   selftest_panic - crashes the kernel via sysrq; refuses outside a diorace VM guest
//   selftest_undeclared - reports a finding of an oracle it does not declare
//                    (data: a corrupted buffer; result: a wrong byte count):
//                    must be a harness ERROR, never FAIL
//   selftest_series - finds nothing, yet declares the bug on the newest Debian
//                    6.12: `prove --latest` must say "no longer shows the bug"
//   selftest_fixture - reads its fixture back after damaging either the fixture
//                    on disk (must be ERROR "fixture damaged") or the data read
//                    (stands for a kernel that corrupted the read: must be FAIL)
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>

#include "diorace/buffer.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/oracles.hpp"
#include "diorace/pattern.hpp"
#include "diorace/registry.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

class SelftestHang final : public Case {
 public:
  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    if (i < static_cast<uint64_t>(ctx.params.integer("clean_iterations"))) return {};
    int p[2];
    if (::pipe(p) < 0) throw_errno("pipe");
    char c;
    // Nobody writes: the read sleeps in the kernel until the process is killed.
    (void)::read(p[0], &c, 1);
    return {};
  }
};

class SelftestIdle final : public Case {
 public:
  std::vector<Corruption> iterate(CaseContext&, uint64_t) override {
    ::usleep(1000);
    return {};
  }
};

class SelftestKmsg final : public Case {
 public:
  std::vector<Corruption> iterate(CaseContext&, uint64_t) override {
    if (done_) return {};
    done_ = true;
    std::string line;
    if (!try_read_file(line_file(), line)) throw SetupError("selftest_kmsg: cannot read " + line_file());
    auto fd = UniqueFd::open("/dev/kmsg", O_WRONLY);
    size_t start = 0;
    while (start < line.size()) {
      size_t end = line.find('\n', start);
      if (end == std::string::npos) end = line.size();
      std::string rec = line.substr(start, end - start) + "\n";  // unterminated records stay invisible
      if (rec.size() > 1) write_all(fd.get(), rec.data(), rec.size(), "write /dev/kmsg");
      start = end + 1;
    }
    return {};
  }
  static std::string line_file() {
    const char* p = std::getenv("DIORACE_SELFTEST_KMSG");
    return p ? p : "";
  }

 private:
  bool done_ = false;
};

class SelftestPanic final : public Case {
 public:
  std::vector<Corruption> iterate(CaseContext&, uint64_t) override {
    auto fd = UniqueFd::open("/proc/sysrq-trigger", O_WRONLY);
    write_all(fd.get(), "c", 1, "write /proc/sysrq-trigger");
    return {};
  }
};

class SelftestFixture final : public Case {
 public:
  static constexpr uint64_t kSize = 2 << 20;
  void setup(CaseContext& ctx) override {
    spec_ = {ctx.fixture_name("data"), {7, 1, 0x5e1f7e57}, kSize};
    ctx.target.ensure_fixture(spec_);
  }
  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t) override {
    const auto at = static_cast<uint64_t>(ctx.params.integer("offset"));
    const std::string& damage = ctx.params.choice("damage");
    if (damage == "disk") {
      // Someone else's write to the fixture while the case runs.
      auto fd = ctx.target.open_fixture(spec_.name, O_RDWR);
      unsigned char b = 0;
      if (::pread(fd.get(), &b, 1, static_cast<off_t>(at)) != 1) throw_errno("read fixture");
      b ^= 0xff;
      if (::pwrite(fd.get(), &b, 1, static_cast<off_t>(at)) != 1) throw_errno("write fixture");
      if (::fsync(fd.get()) < 0) throw_errno("fsync fixture");
    }
    const uint64_t block = at / 4096 * 4096;
    auto buf = AlignedBuffer::create(4096, 4096);
    auto fd = ctx.target.open_fixture(spec_.name, O_RDONLY | O_DIRECT);
    if (::pread(fd.get(), buf.data(), 4096, static_cast<off_t>(block)) != 4096) throw_errno("read fixture");
    if (damage == "read") buf.data()[at - block] ^= std::byte{0xff};
    return Verifier(spec_.key, spec_.name).verify(buf.span(), block);
  }

 private:
  FixtureSpec spec_;
};

// Declares only the hang oracle, then finds what its undeclared data or
// result oracle would: the metadata is the truth, so this is no verdict.
class SelftestUndeclared final : public Case {
 public:
  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    if (i > 0) return {};
    if (ctx.params.choice("report") == "result") {
      ctx.report(check_owed("selftest read", 0, 4096, {{"selftest", true}}, "a result the case never declared"));
      return {};
    }
    auto buf = AlignedBuffer::create(4096, 4096);
    buf.fill(std::byte{0});
    return Verifier({9, 1, 0x5e1f}, "selftest-undeclared").verify(buf.span(), 0);
  }
};

const Registrar undeclared{CaseInfo{
    .name = "selftest_undeclared",
    .summary = "harness self-test: finds what an oracle it did not declare would (data or result)",
    .races = "nothing: proves that only declared oracles decide a verdict",
    .seed_thread = "-",
    .oracles = {Oracle::hang},
    .params = {{"report", "the undeclared oracle whose finding it reports", 0, 0, 0, {"data", "result"}}},
    .test_only = true,
    .make = [] { return std::make_unique<SelftestUndeclared>(); },
}};

const Registrar fixture{CaseInfo{
    .name = "selftest_fixture",
    .summary = "harness self-test: damages its fixture on disk, or the data it read, then verifies the read",
    .races = "nothing: proves that a damaged fixture is an ERROR and a corrupted read a FAIL",
    .seed_thread = "-",
    .needs = kNeedODirect,
    .oracles = {Oracle::data},
    .params = {{"damage", "what is damaged: nothing, the fixture on disk, or the data read", 0, 0, 0,
                {"none", "disk", "read"}},
               {"offset", "byte offset of the damage", 1536 << 10, 0, static_cast<int64_t>(SelftestFixture::kSize - 1),
                {}}},
    .test_only = true,
    .make = [] { return std::make_unique<SelftestFixture>(); },
}};

const Registrar hang{CaseInfo{
    .name = "selftest_hang",
    .summary = "harness self-test: blocks in the kernel past its iteration deadline",
    .races = "nothing: proves the hang oracle (and, with a simulated taint file, the taint oracle)",
    .seed_thread = "-",
    .oracles = {Oracle::hang, Oracle::taint},
    .params = {{"clean_iterations", "iterations that finish before the one that blocks", 0, 0, 1000000, {}}},
    .iteration_timeout_s = 3,
    .test_only = true,
    .make = [] { return std::make_unique<SelftestHang>(); },
}};

// A doctored declaration: the bug "shows" on the newest 6.12 package, where
// this case cannot fail. Its fixing commit is one Debian 6.12 carries, so the
// changelog agrees with the PASS.
const Registrar series{CaseInfo{
    .name = "selftest_series",
    .summary = "harness self-test: declares a bug on the newest Debian 6.12 that it cannot find there",
    .races = "nothing: proves that prove --latest reports a series control whose bug no longer shows",
    .seed_thread = "-",
    .fixed_by = {{"ce56d21355cd6f6937aca32f1f44ca749d1e4808", "ext4: fix racy may inline data check in dio write",
                  "v6.7"}},
    .oracles = {Oracle::hang},
    .test_only = true,
    .controls = {{kSeries612, Verdict::fail, {}, FailKind::none, false, 3, "doctored: the bug declared on a fixed series"}},
    .make = [] { return std::make_unique<SelftestIdle>(); },
}};

const Registrar kmsg{CaseInfo{
    .name = "selftest_kmsg",
    .summary = "harness self-test: writes the lines of $DIORACE_SELFTEST_KMSG to /dev/kmsg during the case",
    .races = "nothing: proves the kernel-log oracle and detector awareness",
    .seed_thread = "-",
    .needs = kNeedRoot,
    .oracles = {Oracle::kmsg},
    .detectors = {"CONFIG_KCSAN"},  // so that the "ran without its detector" path is exercised
    .kmsg_ignore = {"diorace-selftest expected noise"},
    .own_signatures = {"io_worker_handle_work"},  // its "own race", to exercise own vs unrelated
    .test_only = true,
    .make = [] { return std::make_unique<SelftestKmsg>(); },
}};

const Registrar panic{CaseInfo{
    .name = "selftest_panic",
    .summary = "harness self-test: crashes the guest kernel with sysrq-c (VM guests only)",
    .races = "nothing: proves the VM runner's crash verdict",
    .seed_thread = "-",
    .needs = kNeedRoot | kNeedGuest,
    .oracles = {Oracle::crash},
    .test_only = true,
    .make = [] { return std::make_unique<SelftestPanic>(); },
}};

}  // namespace
}  // namespace diorace
