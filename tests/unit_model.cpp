// SPDX-License-Identifier: GPL-2.0-or-later
// The explorer's model, rule by rule (docs/explore-model.md): for each rule a
// doctored history that must be flagged and one that must be allowed.
#include <linux/fs.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "diorace/error.hpp"
#include "diorace/explore.hpp"
#include "diorace/fault.hpp"
#include "diorace/interpreter.hpp"
#include "diorace/klog.hpp"
#include "diorace/model.hpp"
#include "diorace/program.hpp"

using namespace diorace;

namespace {

constexpr uint64_t kIno = 100;

// A history of one file (inode kIno, born a hole of `size` bytes at time 0).
struct Hist {
  History h;
  unsigned next = 0;
  explicit Hist(uint64_t size = 0, const char* fs = "ext4") {
    h.nonce = 7;
    h.fstype = fs;
    h.dio_offset_align = 512;
    h.dio_mem_align = 512;
    h.births.push_back({kIno, 0, size, 0});
  }
  OpEvent& add(OpKind k, uint64_t off, uint64_t len, int64_t t0, int64_t t1, int64_t result) {
    OpEvent e;
    e.actor = next % 4;
    e.index = next++;
    e.op.kind = k;
    e.op.offset = off;
    e.op.length = len;
    e.op.direct = true;
    e.inode = kIno;
    e.start_ns = t0;
    e.end_ns = t1;
    e.result = result;
    e.write_id = 1000 + e.index;
    h.events.push_back(e);
    return h.events.back();
  }
  OpEvent& write(uint64_t off, uint64_t len, int64_t t0, int64_t t1) {
    return add(OpKind::write, off, len, t0, t1, static_cast<int64_t>(len));
  }
  // A read that returned `data` (its length is the result).
  OpEvent& read(uint64_t off, uint64_t len, int64_t t0, int64_t t1, std::vector<uint8_t> data) {
    auto& e = add(OpKind::read, off, len, t0, t1, static_cast<int64_t>(data.size()));
    e.data = std::move(data);
    return e;
  }
  // The bytes write w put at [off, off+len).
  std::vector<uint8_t> bytes(const OpEvent& w, uint64_t off, uint64_t len) const {
    std::vector<uint8_t> v(len);
    for (uint64_t i = 0; i < len; ++i) v[i] = stamp_byte(h.nonce, w.write_id, off + i);
    return v;
  }
  std::vector<Finding> check() const { return check_history(h); }
};

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }
std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
bool flags(const std::vector<Finding>& fs, const std::string& cls) {
  for (const auto& f : fs)
    if (f.detail.value("class", "") == cls) return true;
  return false;
}

}  // namespace

TEST(ExploreModel, AReadAfterACompletedWriteMustSeeIt) {
  Hist ok(4096);
  const OpEvent w = ok.write(0, 4096, 10, 20);
  ok.read(0, 4096, 30, 40, ok.bytes(w, 0, 4096));
  EXPECT_TRUE(ok.check().empty());

  Hist stale(4096);
  stale.write(0, 4096, 10, 20);
  stale.read(0, 4096, 30, 40, zeros(4096));  // the hole the write replaced
  const auto f = stale.check();
  ASSERT_TRUE(flags(f, "contents"));
  EXPECT_EQ(f[0].oracle, "data");
  EXPECT_EQ(f[0].detail["first_bad"], 0);
}

TEST(ExploreModel, AReadOverlappingTwoWritesMayMixThemPerByte) {
  Hist h(4096);
  const OpEvent w1 = h.write(0, 4096, 10, 50);
  const OpEvent w2 = h.write(0, 4096, 20, 60);
  // Old (zeros), w1 and w2 bytes side by side: every one overlapped the read.
  h.read(0, 4096, 30, 40, cat(cat(zeros(1024), h.bytes(w1, 1024, 1024)), h.bytes(w2, 2048, 2048)));
  EXPECT_TRUE(h.check().empty());

  Hist later(4096);
  later.write(0, 4096, 10, 50);
  const OpEvent w3 = later.write(0, 4096, 100, 110);  // started after the read ended
  later.read(0, 4096, 30, 40, later.bytes(w3, 0, 4096));
  EXPECT_TRUE(flags(later.check(), "contents"));
}

TEST(ExploreModel, AFailedWriteMayOrMayNotHaveHappenedAndSupersedesNothing) {
  Hist h(4096);
  const OpEvent w1 = h.write(0, 4096, 10, 20);
  const OpEvent w2 = h.add(OpKind::write, 0, 4096, 30, 40, -EINTR);
  h.read(0, 4096, 50, 60, h.bytes(w2, 0, 4096));  // it happened
  EXPECT_TRUE(h.check().empty());
  Hist h2(4096);
  const OpEvent v1 = h2.write(0, 4096, 10, 20);
  h2.add(OpKind::write, 0, 4096, 30, 40, -EINTR);
  h2.read(0, 4096, 50, 60, h2.bytes(v1, 0, 4096));  // it did not: w1 stands
  EXPECT_TRUE(h2.check().empty());
  (void)w1;
  Hist h3(4096);
  h3.write(0, 4096, 10, 20);
  h3.add(OpKind::write, 0, 4096, 30, 40, -EINTR);
  h3.read(0, 4096, 50, 60, zeros(4096));  // but the hole before w1 is gone
  EXPECT_TRUE(flags(h3.check(), "contents"));
}

TEST(ExploreModel, ATruncateRacingAReadIsBeforeOrAfterNeverStaleOnceDone) {
  Hist h(8192);
  const OpEvent w = h.write(0, 8192, 10, 20);
  h.add(OpKind::truncate, 0, 0, 30, 50, 0);
  h.read(0, 8192, 40, 45, h.bytes(w, 0, 8192));  // before it
  h.read(0, 8192, 41, 46, {});                   // after it: end of file
  EXPECT_TRUE(h.check().empty());

  Hist after(8192);
  const OpEvent w2 = after.write(0, 8192, 10, 20);
  after.add(OpKind::truncate, 0, 0, 30, 50, 0);
  after.read(0, 8192, 60, 70, after.bytes(w2, 0, 8192));  // the file was empty for the whole read
  const auto f = after.check();
  EXPECT_TRUE(flags(f, "past_eof"));
  EXPECT_TRUE(flags(f, "contents"));
}

TEST(ExploreModel, AShortReadBelowEveryEndOfFileIsOwedBytes) {
  // RACES.md bug 2's shape: a 4096-byte hole, an 8192-byte polled read from 0.
  Hist bad(4096);
  auto& r = bad.read(0, 8192, 10, 20, {});
  r.op.api = Api::uring;
  r.op.ring = Ring::iopoll;
  const auto f = bad.check();
  ASSERT_TRUE(flags(f, "short_read"));
  EXPECT_EQ(f[0].detail["owed_at_least"], 4096);
  EXPECT_EQ(f[0].detail["shape"], "read.direct.uring-iopoll");

  Hist good(4096);
  good.read(0, 8192, 10, 20, zeros(4096));
  EXPECT_TRUE(good.check().empty());

  Hist nowait(4096);  // RWF_NOWAIT may return less
  auto& n = nowait.read(0, 8192, 10, 20, zeros(512));
  n.op.api = Api::pv2;
  n.op.rwf = RWF_NOWAIT;
  EXPECT_TRUE(nowait.check().empty());
}

TEST(ExploreModel, AShortReadAtAMovingEndOfFileIsAllowed) {
  Hist h(4096);
  h.add(OpKind::truncate, 0, 0, 5, 25, 0);  // the end of file moves to 0 during the read
  h.read(0, 8192, 10, 20, {});
  EXPECT_TRUE(h.check().empty());
  Hist ext(0);
  const OpEvent w = ext.write(0, 8192, 5, 25);  // an extending write, concurrent
  ext.read(0, 8192, 10, 20, ext.bytes(w, 0, 4096));
  EXPECT_TRUE(ext.check().empty());
}

TEST(ExploreModel, ErrnosFollowTheRules) {
  Hist erange(4096);
  erange.add(OpKind::write, 0, 4096, 10, 20, -ERANGE);  // RACES.md bug 1's result
  EXPECT_TRUE(flags(erange.check(), "errno:ERANGE"));

  Hist eio(4096);
  eio.add(OpKind::write, 0, 4096, 10, 20, -EIO);
  EXPECT_TRUE(flags(eio.check(), "errno:EIO"));
  Hist mixed(4096);
  auto& b = mixed.write(0, 100, 1, 5);
  b.op.direct = false;
  mixed.add(OpKind::write, 0, 4096, 10, 20, -EIO);  // R2/R6: buffered and direct writes on one inode
  EXPECT_TRUE(mixed.check().empty());

  Hist iopoll(4096);
  auto& p = iopoll.add(OpKind::read, 0, 4096, 10, 20, -EOPNOTSUPP);
  p.op.api = Api::uring;
  p.op.ring = Ring::iopoll;
  EXPECT_TRUE(iopoll.check().empty());
  Hist plain(4096);
  plain.add(OpKind::read, 0, 4096, 10, 20, -EOPNOTSUPP);
  EXPECT_TRUE(flags(plain.check(), "errno:EOPNOTSUPP"));

  Hist again(4096);
  again.add(OpKind::read, 0, 4096, 10, 20, -EAGAIN);
  EXPECT_TRUE(flags(again.check(), "errno:EAGAIN"));
  auto& nw = again.h.events.back();
  nw.op.api = Api::pv2;
  nw.op.rwf = RWF_NOWAIT;
  EXPECT_TRUE(again.check().empty());
  // An io_uring O_DIRECT request's CQE may carry -EAGAIN (the application
  // reissues: liburing issues 766, 838, 1269; seen on 6.12.118 with xfs):
  // allowed; a buffered one's, and a libaio one's, are not.
  Hist uring(4096);
  auto& u = uring.add(OpKind::read, 0, 4096, 10, 20, -EAGAIN);
  u.op.api = Api::uring;
  u.op.ring = Ring::sqpoll;
  EXPECT_TRUE(uring.check().empty());
  uring.h.events.back().op.direct = false;
  EXPECT_TRUE(flags(uring.check(), "errno:EAGAIN"));
  uring.h.events.back().op.direct = true;
  uring.h.events.back().op.api = Api::libaio;
  EXPECT_TRUE(flags(uring.check(), "errno:EAGAIN"));

  Hist full(4096);  // the environment's, not the kernel's
  full.add(OpKind::write, 0, 4096, 10, 20, -ENOSPC);
  ModelStats st;
  EXPECT_TRUE(check_history(full.h, &st).empty());
  EXPECT_EQ(st.environment_errors, 1u);

  Hist misaligned(4096);  // EINVAL only where statx's alignment is not met
  misaligned.add(OpKind::write, 0, 4096, 10, 20, -EINVAL);
  EXPECT_TRUE(flags(misaligned.check(), "errno:EINVAL"));
  misaligned.h.events.back().op.misalign = 0;
  misaligned.h.dio_mem_align = 4096;
  misaligned.h.events.back().op.misalign = 512;
  EXPECT_TRUE(misaligned.check().empty());
}

TEST(ExploreModel, AWriteMustNotCompleteWhileTheFilesystemIsFrozen) {
  auto frozen = [](Hist& h) {
    OpEvent& f = h.add(OpKind::freeze, 0, 0, 90, 210, 0);
    f.inode = 0;
    f.frozen_from_ns = 100;
    f.frozen_until_ns = 200;
  };
  Hist bad(4096);
  frozen(bad);
  bad.write(0, 4096, 120, 150);  // RACES.md bug 3's shape
  const auto f = bad.check();
  ASSERT_TRUE(flags(f, "not_blocked"));
  EXPECT_EQ(f[0].oracle, "must_block");

  Hist ok(4096);
  frozen(ok);
  ok.write(0, 4096, 120, 250);       // held until the thaw
  ok.write(0, 4096, 95, 150);        // started before FIFREEZE returned: freeze waited for it
  ok.read(0, 4096, 120, 150, zeros(4096));  // reads may proceed (and see the hole: no write finished before)
  ok.h.events.pop_back();
  EXPECT_TRUE(ok.check().empty());

  // The guardian thaws by itself 10 s after freezing: a write after that,
  // within a longer window, is not flagged; one before it is.
  constexpr int64_t s = 1'000'000'000;
  Hist late(4096);
  OpEvent& f2 = late.add(OpKind::freeze, 0, 0, 90, 13 * s, 0);
  f2.inode = 0;
  f2.frozen_from_ns = 100;
  f2.frozen_until_ns = 12 * s;
  late.write(0, 4096, 10 * s + 500, 11 * s);
  EXPECT_TRUE(late.check().empty());
  late.write(0, 4096, 2 * s, 3 * s);
  EXPECT_TRUE(flags(late.check(), "not_blocked"));

  // A freeze whose FITHAW failed (EINVAL: the filesystem was no longer
  // frozen when its guardian thawed) proves no window: nothing is flagged.
  Hist thawed(4096);
  frozen(thawed);
  thawed.h.events.back().result = -EIO;
  thawed.write(0, 4096, 120, 150);
  EXPECT_TRUE(thawed.check().empty());
}

// --inject-fault oracle (TEST ONLY): the model doctors what it would let
// pass, so a program case that only writes and freezes can FAIL too: a count
// taken as one byte more than asked for, and a write that waited for the
// thaw taken as done inside the freeze. Off, the same history is clean.
TEST(ExploreModel, OracleInjectionDoctorsCountsAndBlocking) {
  Hist h(4096);
  OpEvent& fz = h.add(OpKind::freeze, 0, 0, 90, 210, 0);
  fz.inode = 0;
  fz.frozen_from_ns = 100;
  fz.frozen_until_ns = 200;
  h.write(0, 4096, 120, 250);  // held until the thaw
  ASSERT_TRUE(h.check().empty());
  set_fault_config({FaultMode::oracle, 1.0});
  const auto f = h.check();
  set_fault_config({});
  ASSERT_TRUE(flags(f, "too_many"));
  ASSERT_TRUE(flags(f, "not_blocked"));
  for (const auto& x : f) EXPECT_NE(x.text.find("[fault injected"), std::string::npos) << x.text;
  EXPECT_TRUE(h.check().empty());
}

TEST(ExploreModel, ACollisionOfBufferedAndDirectWritesMayRevertLaterReads) {
  auto build = [](bool collide) {
    Hist h(4096);
    const OpEvent w1 = h.write(0, 4096, 10, 20);
    auto& b = h.write(0, 512, collide ? 35 : 5, collide ? 45 : 8);  // buffered, during the next direct write or not
    b.op.direct = false;
    h.write(0, 4096, 30, 50);
    h.read(0, 4096, 60, 70, h.bytes(w1, 0, 4096));  // w1's bytes after a later write completed
    return h.check();
  };
  EXPECT_TRUE(build(true).empty());  // R2: a stale folio written back over the direct write
  EXPECT_TRUE(flags(build(false), "contents"));
}

TEST(ExploreModel, PunchedBytesReadZeroOnceThePunchCompleted) {
  Hist h(8192);
  const OpEvent w = h.write(0, 8192, 10, 20);
  auto& p = h.add(OpKind::fallocate, 0, 4096, 30, 40, 0);
  p.op.mode = Falloc::punch_hole;
  h.read(0, 8192, 50, 60, cat(zeros(4096), h.bytes(w, 4096, 4096)));
  EXPECT_TRUE(h.check().empty());
  h.h.events.back().data = h.bytes(w, 0, 8192);  // stale data exposed after the punch
  const auto f = h.check();
  ASSERT_TRUE(flags(f, "contents"));
  EXPECT_EQ(f[0].detail["first_bad"], 0);
  EXPECT_NE(f[0].summary.find("written by"), std::string::npos) << f[0].summary;
}

TEST(ExploreModel, PoisonMeansTheDataNeverArrived) {
  Hist h(4096);
  h.write(0, 4096, 10, 20);
  h.read(0, 4096, 30, 40, std::vector<uint8_t>(4096, kPoison));
  const auto f = h.check();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].summary.find("poison"), std::string::npos) << f[0].summary;
}

TEST(ExploreProgram, GeneratedProgramsAreDeterministicAndRoundTrip) {
  GeneratorConfig c;
  const Program a = generate_program(c, 42), b = generate_program(c, 42), other = generate_program(c, 43);
  EXPECT_EQ(nlohmann::json(a), nlohmann::json(b));
  EXPECT_NE(nlohmann::json(a), nlohmann::json(other));
  EXPECT_EQ(a.actors.size(), c.actors);
  EXPECT_EQ(a.op_count(), c.actors * c.ops_per_actor);
  const Program back = nlohmann::json(a).get<Program>();
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(a));
  for (const auto& actor : a.actors)
    for (const auto& o : actor.ops)
      if (o.direct && (o.kind == OpKind::read || o.kind == OpKind::write)) {
        EXPECT_EQ(o.offset % 512, 0u);
        EXPECT_EQ(o.length % 512, 0u);
      }
}

TEST(ExploreProgram, WeightsSwitchOperationsOffAndBadFilesAreRefused) {
  GeneratorConfig c;
  for (const char* w : {"read=0", "truncate=0", "fallocate=0", "fsync=0", "fork=0", "recreate=0", "wait=0", "freeze=0",
                        "uffd=0", "madvise=0", "mprotect=0"})
    c.set_weight(w);
  for (const auto& a : generate_program(c, 1).actors)
    for (const auto& o : a.ops) EXPECT_EQ(o.kind, OpKind::write);
  EXPECT_THROW(c.set_weight("nosuchop=1"), std::invalid_argument);
  EXPECT_THROW(c.set_weight("read=x"), std::invalid_argument);
  nlohmann::json j = generate_program(GeneratorConfig{}, 5);
  j["actors"][0]["ops"][0]["file"] = 9;
  EXPECT_THROW(j.get<Program>(), std::invalid_argument);
  j["format"] = "something else";
  EXPECT_THROW(j.get<Program>(), std::invalid_argument);
}

TEST(ExploreModel, ABufferedReadRacingADirectWriteMayLeaveStaleCacheOnlyOnABlockDevice) {
  // The minimized program explore found on 6.18 (a loop device over a file on
  // xfs): a buffered read of block 14 during a libaio O_DIRECT write of it,
  // then a buffered read of it after the write completed returns the old
  // zeros. The block layer invalidates at submission of an asynchronous
  // direct write, not at completion: allowed on a block device; on a file,
  // iomap invalidates at completion and the same history is a finding.
  auto build = [](bool block_device) {
    Hist h(65536);
    h.h.births[0].block_device = block_device;
    auto& racing = h.read(50176, 8192, 10, 40, zeros(8192));
    racing.op.direct = false;
    h.write(57344, 4096, 20, 30);
    auto& later = h.read(58368, 7168, 50, 60, zeros(7168));
    later.op.direct = false;
    return h.check();
  };
  EXPECT_TRUE(build(true).empty());
  EXPECT_TRUE(flags(build(false), "contents"));
}

TEST(ExploreProgram, LoopSlotsTakeNoSizeChangesAndAProgramThatFreezesKeepsNoUringWriteInFlight) {
  GeneratorConfig c;
  c.loop_percent = 100;
  c.swarm = false;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const Program p = generate_program(c, seed);
    ASSERT_EQ(p.loops, std::vector<unsigned>{p.files - 1});
    EXPECT_TRUE(freeze_safe(p));
    for (const auto& a : p.actors)
      for (const auto& o : a.ops)
        if (p.is_loop(o.file)) {
          EXPECT_TRUE(o.kind == OpKind::read || o.kind == OpKind::write || o.kind == OpKind::fsync) << o.shape();
          EXPECT_LE(o.offset + o.length, p.max_size);
        }
  }
  nlohmann::json j = generate_program(c, 3);
  j["actors"][0]["ops"] = nlohmann::json::array({{{"op", "truncate"}, {"file", j["files"].get<unsigned>() - 1}, {"length", 0}}});
  EXPECT_THROW(j.get<Program>(), std::invalid_argument);
  j["actors"][0]["ops"] = nlohmann::json::array({{{"op", "freeze"}, {"hold_us", 1000}},
                                                 {{"op", "write"}, {"file", 0}, {"offset", 0}, {"length", 4096},
                                                  {"direct", true}, {"api", "uring"}, {"async", true}}});
  EXPECT_THROW(j.get<Program>(), std::invalid_argument);
}

// The tenth session: a program that froze the filesystem its buffers were a
// file of (seed 6639194528765022341) deadlocked itself on 6.12.107 in 4 of
// 150 replays. Generated programs that freeze keep anonymous buffers; a
// program file with both is refused.
TEST(ExploreProgram, AProgramThatFreezesKeepsNoBuffersInAFile) {
  GeneratorConfig c;
  c.file_percent = 100;
  c.weights["freeze"] = 50;
  int freezing = 0, file_backed = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const Program p = generate_program(c, seed);
    const bool freezes = p.has(OpKind::freeze);
    freezing += freezes;
    file_backed += p.file_backed;
    EXPECT_FALSE(freezes && p.file_backed) << seed;
  }
  EXPECT_GT(freezing, 20);
  EXPECT_GT(file_backed, 20);
  EXPECT_FALSE(generate_program(GeneratorConfig{}, 6639194528765022341ull).file_backed);
  nlohmann::json j = generate_program(c, 3);
  j["buffer_memory"] = "file";
  j["actors"][0]["ops"] = nlohmann::json::array({{{"op", "freeze"}, {"hold_us", 1000}}});
  EXPECT_THROW(j.get<Program>(), std::invalid_argument);
}

TEST(ExploreKernelLog, AKernelWarningBecomesAFindingNamingItsFunction) {
  const auto r = parse_kernel_report(
      "4,1234,5678901,-;WARNING: CPU: 1 PID: 134 at fs/ext4/ext4_jbd2.c:75 ext4_journal_check_start+0x56/0x90");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cls, "warning");
  EXPECT_EQ(r->where, "ext4_journal_check_start");
  const Finding f = kernel_report_finding(*r);
  EXPECT_EQ(f.oracle, "kmsg");
  EXPECT_EQ(finding_signature(f, "ext4"), "kmsg|splat:warning|ext4_journal_check_start|ext4");
  // A line user space wrote (facility 1) and a line that is no report are not.
  EXPECT_FALSE(parse_kernel_report("12,1235,5678902,-;WARNING: CPU: 0 PID: 1 at fake.c:1 fake+0x1/0x2"));
  EXPECT_FALSE(parse_kernel_report("6,1236,5678903,-;EXT4-fs (loop0): mounted filesystem"));
  // The runner's own report of the same WARNING (a console title) names the
  // same function, whatever CPU and PID it ran on: `vm --boots` counts one signature.
  EXPECT_EQ(kernel_report_where("WARNING: CPU: 0 PID: 9 at fs/ext4/ext4_jbd2.c:75 ext4_journal_check_start+0x56/0x90"),
            "ext4_journal_check_start");
  EXPECT_EQ(kernel_report_where("INFO: task diorace:123 blocked for more than 120 seconds."), "");
}

// explore's help lists its options from one description; the parser takes
// exactly those (and hands every other argument to run).
TEST(ExploreArgs, EveryOptionTheHelpListsIsParsedAndNoOther) {
  const std::map<std::string, std::string> value = {{"actors", "2"}, {"ops", "5"},        {"files", "1"},
                                                    {"fs", "xfs"},    {"weight", "read=3"}, {"findings", "d"}};
  const auto desc = explore_options_description();
  EXPECT_EQ(desc.options().size(), value.size());
  for (const auto& o : desc.options()) {
    const std::string name = o->long_name();
    ASSERT_TRUE(value.count(name)) << "--" << name << " has no test value";
    const ExploreArgs a = parse_explore_args({"--" + name, value.at(name), "--duration", "3"});
    const auto& r = a.run_args;
    // Taken by the explorer: not handed to run as it is, run's own option is.
    EXPECT_EQ(std::count(r.begin(), r.end(), "--" + name), 0) << name;
    EXPECT_NE(std::find(r.begin(), r.end(), "--duration"), r.end()) << name;
    if (name == "findings") EXPECT_EQ(a.findings_dir, "d");
    else EXPECT_NE(std::find(r.begin(), r.end(), "--param"), r.end()) << name;
  }
  EXPECT_THROW(parse_explore_args({"--weight", "bogus=1"}), UsageError);
  EXPECT_THROW(parse_explore_args({"dma_thread"}), UsageError);
}

// R10: a read into a userfaultfd region whose release raced its faults may
// fail with EFAULT or stop short; any other read may not. What it returned
// is still checked.
TEST(ExploreModel, AUserfaultfdReadMayFailOrStopShortOnlyThere) {
  Hist plain(8192);
  plain.add(OpKind::read, 0, 4096, 10, 20, -EFAULT);
  plain.read(0, 8192, 30, 40, zeros(4096));
  EXPECT_TRUE(flags(plain.check(), "errno:EFAULT"));
  EXPECT_TRUE(flags(plain.check(), "short_read"));
  Hist uffd(8192);
  uffd.add(OpKind::read, 0, 4096, 10, 20, -EFAULT).op.uffd = true;
  uffd.read(0, 8192, 30, 40, zeros(4096)).op.uffd = true;
  EXPECT_TRUE(uffd.check().empty());
  // The bytes it did return: poison is still data that never arrived.
  uffd.read(0, 4096, 50, 60, std::vector<uint8_t>(4096, kPoison)).op.uffd = true;
  EXPECT_FALSE(uffd.check().empty());
}

TEST(ExploreProgram, UserfaultfdReadsComeAfterTheirActorsRegionAndOnlySynchronously) {
  GeneratorConfig c;
  c.swarm = false;
  c.weights = {{"uffd", 10}, {"read", 30}, {"write", 5}};
  size_t uffd_reads = 0, at_once = 0, later = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const Program p = generate_program(c, seed);
    for (const auto& a : p.actors) {
      bool region = false;
      for (const auto& o : a.ops) {
        region |= o.kind == OpKind::uffd;
        if (!o.uffd) continue;
        ++uffd_reads;
        EXPECT_TRUE(region) << "seed " << seed;
        EXPECT_EQ(o.kind, OpKind::read);
        EXPECT_TRUE(o.api == Api::psync || o.api == Api::pv2);
      }
    }
    EXPECT_EQ(nlohmann::json(p), nlohmann::json(nlohmann::json(p).get<Program>()));
    bool any_region = false;
    for (const auto& a : p.actors)
      for (const auto& o : a.ops)
        if (o.kind == OpKind::uffd) {
          any_region = true;
          ++(o.hold_us == 0 ? at_once : later);
          EXPECT_TRUE(o.hold_us == 0 || o.hold_us >= 1000u) << o.hold_us;
        }
    EXPECT_EQ(may_hang_for_good(p), any_region);
  }
  EXPECT_GT(uffd_reads, 20u);
  // A quarter of the regions close at once (their handler's first act), the
  // others after 1..26 ms.
  EXPECT_GT(at_once, 5u);
  EXPECT_GT(later, 2 * at_once);
  // One actor freezes at most.
  GeneratorConfig freezes;
  freezes.weights = {{"freeze", 20}, {"write", 30}};
  freezes.swarm = false;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    unsigned freezers = 0;
    for (const auto& a : generate_program(freezes, seed).actors) {
      bool f = false;
      for (const auto& o : a.ops) f |= o.kind == OpKind::freeze;
      freezers += f;
    }
    EXPECT_EQ(freezers, 1u) << "seed " << seed;
  }
  // And a program that freezes maps no file (an mmap store waiting for the
  // thaw holds mmap_lock: the freezer itself could stall).
  freezes.weights = {{"freeze", 20}, {"write", 30}};
  freezes.engines = {{"mmap", 50}, {"psync", 10}};
  for (uint64_t seed = 1; seed <= 30; ++seed)
    for (const auto& a : generate_program(freezes, seed).actors)
      for (const auto& o : a.ops) EXPECT_NE(o.api, Api::mmap) << "seed " << seed;
  // A freeze and a userfaultfd region never share a program.
  GeneratorConfig both;
  both.weights = {{"uffd", 10}, {"freeze", 10}, {"read", 30}};
  both.swarm = false;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    bool freeze = false, region = false;
    for (const auto& a : generate_program(both, seed).actors)
      for (const auto& o : a.ops) freeze |= o.kind == OpKind::freeze, region |= o.kind == OpKind::uffd;
    EXPECT_FALSE(freeze && region) << "seed " << seed;
  }
  nlohmann::json bad = generate_program(c, 1);
  bad["actors"][0]["ops"] = {{{"op", "read"}, {"file", 0}, {"length", 4096}, {"api", "libaio"}, {"uffd", true}}};
  EXPECT_THROW(bad.get<Program>(), std::invalid_argument);
}

TEST(ExploreProgram, PackedAndSpreadLayoutsAreDrawnAndRoundTrip) {
  unsigned packed = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const Program p = generate_program(GeneratorConfig{}, seed);
    packed += p.packed;
    const nlohmann::json j = p;
    EXPECT_EQ(j.get<Program>().packed, p.packed);
    EXPECT_EQ(j.contains("buffers"), p.packed);
  }
  EXPECT_GT(packed, 5u);
  EXPECT_LT(packed, 35u);
  nlohmann::json bad = generate_program(GeneratorConfig{}, 1);
  bad["buffers"] = "scattered";
  EXPECT_THROW(bad.get<Program>(), std::invalid_argument);
}

// R11: an mmap read or write may fail with EFAULT (a SIGBUS while copying),
// msync may report a collision's EIO; its bytes are checked like a buffered
// read's, and a store that completed while the filesystem was frozen is flagged.
TEST(ExploreModel, AnMmapAccessIsABufferedOneThatMayFailWithEfault) {
  Hist fault(8192);
  auto& r = fault.add(OpKind::read, 0, 4096, 10, 20, -EFAULT);
  r.op.direct = false;
  EXPECT_TRUE(flags(fault.check(), "errno:EFAULT"));
  r.op.api = Api::mmap;
  EXPECT_TRUE(fault.check().empty());

  Hist sync(8192);
  auto& w = sync.add(OpKind::write, 0, 4096, 10, 20, -EIO);
  w.op.direct = false;
  w.op.api = Api::mmap;
  w.op.datasync = true;
  EXPECT_TRUE(flags(sync.check(), "errno:EIO")) << "no collision: msync owes no EIO";
  sync.write(0, 4096, 12, 18);  // an O_DIRECT write during it: a collision (R2)
  EXPECT_TRUE(sync.check().empty());

  Hist stale(8192);
  stale.write(0, 4096, 10, 20);
  stale.h.events.back().op.direct = false;
  stale.h.events.back().op.api = Api::mmap;
  auto& rd = stale.read(0, 4096, 30, 40, zeros(4096));  // the write's bytes were owed
  rd.op.direct = false;
  rd.op.api = Api::mmap;
  EXPECT_TRUE(flags(stale.check(), "contents"));
  stale.h.events.back().data = stale.bytes(stale.h.events.front(), 0, 4096);
  EXPECT_TRUE(stale.check().empty());
}

TEST(ExploreProgram, MmapStaysWithinTheFileAndOffFilesThatShrink) {
  GeneratorConfig c;
  c.swarm = false;
  c.engines = {{"mmap", 50}, {"psync", 10}};
  c.weights = {{"read", 20}, {"write", 20}, {"truncate", 2}, {"madvise", 5}, {"mprotect", 5}};
  size_t mapped = 0, advice = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const Program p = generate_program(c, seed);
    std::array<bool, 16> shrinks{};
    for (const auto& a : p.actors)
      for (const auto& o : a.ops) shrinks[o.file] |= o.kind == OpKind::truncate || o.kind == OpKind::recreate;
    for (const auto& a : p.actors)
      for (const auto& o : a.ops) {
        advice += o.kind == OpKind::madvise || o.kind == OpKind::mprotect;
        if (o.api != Api::mmap || (o.kind != OpKind::read && o.kind != OpKind::write)) continue;
        ++mapped;
        EXPECT_FALSE(o.direct);
        EXPECT_FALSE(shrinks[o.file]) << "seed " << seed;
        const uint64_t size = p.is_loop(o.file) ? p.max_size : p.initial_sizes[o.file];
        EXPECT_LE(o.offset + o.length, size) << "seed " << seed;
      }
    const Program back = nlohmann::json(p).get<Program>();
    EXPECT_EQ(nlohmann::json(back), nlohmann::json(p)) << "seed " << seed;
  }
  EXPECT_GT(mapped, 50u);
  EXPECT_GT(advice, 20u);
  nlohmann::json bad = generate_program(c, 1);
  bad["actors"][0]["ops"] = {{{"op", "read"}, {"file", 0}, {"length", 4096}, {"api", "mmap"}, {"direct", true}}};
  EXPECT_THROW(bad.get<Program>(), std::invalid_argument);
}

TEST(ExploreProgram, FileBackedBuffersTakeNoRegisteredRingAndNoTouchingFork) {
  GeneratorConfig c;
  c.file_percent = 100;
  c.swarm = false;
  c.weights = {{"read", 20}, {"write", 20}, {"fork", 10}};
  c.rings = {{"fixed", 50}, {"plain", 10}};
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    const Program p = generate_program(c, seed);
    EXPECT_TRUE(p.file_backed);
    for (const auto& a : p.actors)
      for (const auto& o : a.ops) {
        EXPECT_FALSE(o.api == Api::uring && o.ring == Ring::fixed) << "seed " << seed;
        EXPECT_FALSE(o.touch) << "seed " << seed;
      }
    EXPECT_TRUE(nlohmann::json(p).get<Program>().file_backed);
  }
  c.file_percent = 0;
  EXPECT_FALSE(generate_program(c, 1).file_backed);
  c.huge_percent = 100;
  EXPECT_TRUE(generate_program(c, 1).huge);
  EXPECT_TRUE(nlohmann::json(generate_program(c, 1)).get<Program>().huge);
  nlohmann::json both = generate_program(c, 1);
  both["buffer_memory"] = "file";
  EXPECT_THROW(both.get<Program>(), std::invalid_argument);
  nlohmann::json bad = generate_program(c, 1);
  bad["buffer_memory"] = "file";
  bad["actors"][0]["ops"] = {{{"op", "fork"}, {"touch", true}}};
  EXPECT_THROW(bad.get<Program>(), std::invalid_argument);
  bad["buffer_memory"] = "swap";
  EXPECT_THROW(bad.get<Program>(), std::invalid_argument);
}

// R12: COLLAPSE_RANGE and INSERT_RANGE move the file's later bytes; a read
// after one must find them moved (and the size changed), a read of the old
// places is flagged; after a shift that failed nothing is checked.
TEST(ExploreModel, ACollapseOrInsertMovesTheBytesAfterIt) {
  auto shift = [](Hist& x, Falloc mode, uint64_t off, uint64_t len, int64_t t0, int64_t t1, int64_t result = 0) {
    auto& s = x.add(OpKind::fallocate, off, len, t0, t1, result);
    s.op.mode = mode;
    s.op.direct = false;
    return &s;
  };
  Hist col(16384);
  col.h.events.reserve(16);
  auto& a = col.write(0, 16384, 10, 20);
  shift(col, Falloc::collapse, 4096, 4096, 30, 40);
  const auto moved = cat(col.bytes(a, 0, 4096), col.bytes(a, 8192, 8192));
  col.read(0, 16384, 50, 60, moved);  // 12288 bytes: the file shrank by 4096
  EXPECT_TRUE(col.check().empty()) << nlohmann::json(col.check()).dump();
  col.h.events.back().data = col.bytes(a, 0, 12288);  // the bytes where they were
  col.h.events.back().result = 12288;
  EXPECT_TRUE(flags(col.check(), "contents"));
  col.h.events.back().data = cat(moved, col.bytes(a, 12288, 4096));  // 16384 bytes: past the new end of file
  col.h.events.back().result = 16384;
  EXPECT_TRUE(flags(col.check(), "past_eof"));

  Hist ins(8192);
  ins.h.events.reserve(16);
  auto& b = ins.write(0, 8192, 10, 20);
  shift(ins, Falloc::insert, 4096, 4096, 30, 40);
  ins.read(0, 12288, 50, 60, cat(cat(ins.bytes(b, 0, 4096), zeros(4096)), ins.bytes(b, 4096, 4096)));
  EXPECT_TRUE(ins.check().empty()) << nlohmann::json(ins.check()).dump();
  ins.read(0, 8192, 70, 80, ins.bytes(b, 0, 8192));  // the old layout
  EXPECT_TRUE(flags(ins.check(), "contents"));
  // A write after the shift is in the new coordinates.
  Hist after(8192);
  after.h.events.reserve(16);
  shift(after, Falloc::insert, 0, 4096, 10, 20);
  auto& w = after.write(0, 4096, 30, 40);
  after.read(0, 12288, 50, 60, cat(after.bytes(w, 0, 4096), zeros(8192)));
  EXPECT_TRUE(after.check().empty()) << nlohmann::json(after.check()).dump();

  Hist failed(16384);
  failed.h.events.reserve(16);
  auto& c = failed.write(0, 16384, 10, 20);
  shift(failed, Falloc::collapse, 4096, 4096, 30, 40, -EINVAL);
  failed.read(0, 4096, 50, 60, zeros(4096));  // unknown after the failed shift: not checked
  EXPECT_TRUE(failed.check().empty());
  (void)c;
}

TEST(ExploreProgram, ShiftsOnlyOnActorZerosPrivateFile) {
  GeneratorConfig c;
  c.swarm = false;
  c.private_percent = 100;
  c.files = 3;
  c.weights = {{"read", 10}, {"write", 10}, {"fallocate", 30}};
  size_t shifted = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const Program p = generate_program(c, seed);
    ASSERT_GE(p.private_file, 1) << "seed " << seed;
    for (size_t a = 0; a < p.actors.size(); ++a)
      for (const auto& o : p.actors[a].ops) {
        if (a > 0 && o.kind != OpKind::fork && o.kind != OpKind::wait) {
          EXPECT_NE(o.file, static_cast<unsigned>(p.private_file));
        }
        if (o.kind == OpKind::fallocate && shifts(o.mode)) {
          ++shifted;
          EXPECT_EQ(a, 0u);
          EXPECT_EQ(o.file, static_cast<unsigned>(p.private_file));
          EXPECT_EQ(o.offset % 4096, 0u);
          EXPECT_EQ(o.length % 4096, 0u);
        }
      }
    EXPECT_EQ(nlohmann::json(nlohmann::json(p).get<Program>()), nlohmann::json(p));
  }
  EXPECT_GT(shifted, 10u);
  c.private_percent = 0;
  for (const auto& a : generate_program(c, 3).actors)
    for (const auto& o : a.ops) EXPECT_FALSE(o.kind == OpKind::fallocate && shifts(o.mode));
  nlohmann::json bad = generate_program(c, 3);
  bad["actors"][1]["ops"] = {{{"op", "fallocate"}, {"file", 1}, {"offset", 0}, {"length", 4096}, {"mode", "collapse_range"}}};
  EXPECT_THROW(bad.get<Program>(), std::invalid_argument);
}

TEST(ExploreKernelLog, AHungTaskReportNamesItsTask) {
  EXPECT_EQ(hung_task_pid("INFO: task diorace:1234 blocked for more than 120 seconds."), 1234);
  EXPECT_EQ(hung_task_pid("INFO: task kworker/u4:2:77 blocked for more than 122 seconds."), 77);
  EXPECT_FALSE(hung_task_pid("WARNING: CPU: 1 PID: 5 at fs/ext4/ext4_jbd2.c:75").has_value());
  EXPECT_FALSE(hung_task_pid("INFO: task blocked for more than 120 seconds.").has_value());
}

// Schedule hints (Op::after_actor/after_op): drawn only towards lower actors'
// operations, carried by program files, refused when they point nowhere, and
// kept pointing at the same operation when the minimizer removes others.
TEST(ExploreProgram, ScheduleHintsPointAtLowerActorsAndSurviveRemovals) {
  GeneratorConfig c;
  unsigned hinted = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const Program p = generate_program(c, seed);
    for (size_t a = 0; a < p.actors.size(); ++a)
      for (const auto& o : p.actors[a].ops) {
        if (o.after_actor < 0) continue;
        ++hinted;
        EXPECT_LT(static_cast<size_t>(o.after_actor), a);
        EXPECT_LT(o.after_op, p.actors[static_cast<size_t>(o.after_actor)].ops.size());
      }
    EXPECT_EQ(nlohmann::json(nlohmann::json(p).get<Program>()), nlohmann::json(p));
  }
  EXPECT_GT(hinted, 100u);
  c.after_percent = 0;
  for (uint64_t seed = 1; seed <= 50; ++seed)
    for (const auto& a : generate_program(c, seed).actors)
      for (const auto& o : a.ops) EXPECT_LT(o.after_actor, 0);

  auto op = [](int actor, uint32_t index) {
    Op o{.kind = OpKind::fsync};
    o.after_actor = actor;
    o.after_op = index;
    return o;
  };
  Program p;
  p.initial_sizes = {0, 0};
  p.actors = {{{Op{.kind = OpKind::fsync}, Op{.kind = OpKind::fsync}, Op{.kind = OpKind::fsync}}},
              {{op(0, 2), op(0, 0)}},
              {{op(1, 1), op(0, 1), op(0, 2)}}};
  nlohmann::json j = p;
  EXPECT_EQ(j["actors"][2]["ops"][0]["after"], nlohmann::json::array({1, 1}));
  for (auto bad : {nlohmann::json::array({2, 0}), nlohmann::json::array({0, 3}), nlohmann::json::array({1}),
                   nlohmann::json("0,1")}) {
    nlohmann::json k = j;
    k["actors"][1]["ops"][0]["after"] = bad;
    EXPECT_THROW(k.get<Program>(), std::invalid_argument) << bad;
  }
  Program q = p;
  q.erase_ops(0, 1, 2);  // actor 0's op 1 goes: a hint to it goes, one to op 2 now names op 1
  EXPECT_EQ(q.actors[1].ops[0].after_op, 1u);
  EXPECT_EQ(q.actors[1].ops[1].after_op, 0u);
  EXPECT_LT(q.actors[2].ops[1].after_actor, 0);
  EXPECT_EQ(q.actors[2].ops[2].after_actor, 0);
  EXPECT_EQ(q.actors[2].ops[2].after_op, 1u);
  EXPECT_NO_THROW(nlohmann::json(q).get<Program>());
  q = p;
  q.erase_actor(0);  // hints to actor 0 go; actor 2 (now 1) still waits for actor 1 (now 0)
  EXPECT_LT(q.actors[0].ops[0].after_actor, 0);
  EXPECT_EQ(q.actors[1].ops[0].after_actor, 0);
  EXPECT_EQ(q.actors[1].ops[0].after_op, 1u);
  EXPECT_LT(q.actors[1].ops[1].after_actor, 0);
  EXPECT_NO_THROW(nlohmann::json(q).get<Program>());
}

// A hinted operation begins after the one it names began (here: after that
// one's long spin), and waits kAfterTimeoutUs at most for one that has not.
TEST(ExploreProgram, AHintedOperationWaitsForItsTargetButNotForever) {
  std::string dir = (std::filesystem::temp_directory_path() / "diorace-hint-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  struct Gone {
    std::string d;
    ~Gone() { std::filesystem::remove_all(d); }
  } gone{dir};
  struct {
    std::string path;
  } d{dir};
  auto write = [](uint64_t off, uint32_t spin) {
    return Op{.kind = OpKind::write, .file = 0, .offset = off, .length = 512, .spin = spin};
  };
  Program p;
  p.files = 1;
  p.initial_sizes = {0};
  Op hinted = write(4096, 0);
  hinted.after_actor = 0;
  hinted.after_op = 1;
  p.actors = {{{write(0, 0), write(1024, 60'000'000)}}, {{hinted}}};
  Interpreter interp;
  History h = run_in_fresh_dir(interp, p, d.path + "/met", 1);
  auto event = [&](unsigned actor, unsigned index) {
    return *std::find_if(h.events.begin(), h.events.end(),
                         [&](const OpEvent& e) { return e.actor == actor && e.index == index; });
  };
  const OpEvent a = event(0, 0), b = event(0, 1), w = event(1, 0);
  ASSERT_GT(b.start_ns - a.end_ns, 5'000'000) << "the spin is too short on this machine to show the wait";
  EXPECT_GE(w.start_ns, b.start_ns - 1'000'000);
  // A target that begins only after the timeout: the hinted operation goes first.
  p.actors[0].ops[1].spin = 4'000'000'000;
  h = run_in_fresh_dir(interp, p, d.path + "/timeout", 2);
  const OpEvent a2 = event(0, 0), b2 = event(0, 1), w2 = event(1, 0);
  ASSERT_GT(b2.start_ns - a2.end_ns, int64_t{kAfterTimeoutUs} * 1000 + 100'000'000) << "the spin is too short on this machine";
  EXPECT_LT(w2.start_ns, b2.start_ns);
  EXPECT_GE(w2.start_ns - a2.start_ns, int64_t{kAfterTimeoutUs} * 1000 - 50'000'000);
}
