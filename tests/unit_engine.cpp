// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "diorace/fd.hpp"
#include "diorace/pattern.hpp"

using namespace diorace;

namespace {

struct TempFile {
  std::string path;
  TempFile() {
    path = "/var/tmp/diorace-unit-XXXXXX";
    int fd = ::mkstemp(path.data());
    ::close(fd);
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

struct Variant {
  const char* engine;
  EngineOptions opts;
  const char* label;
};

class EngineTest : public ::testing::TestWithParam<Variant> {};

}  // namespace

TEST(EngineTable, EveryEngineIsWellFormed) {
  ASSERT_EQ(engines().size(), 3u);
  for (auto* e : engines()) EXPECT_EQ(check_engine_ops(*e), "") << e->name;
  EXPECT_NE(find_engine("io_uring"), nullptr);
  EXPECT_EQ(find_engine("nope"), nullptr);
  EngineOps broken{"x", "y", 0, nullptr, nullptr, nullptr, nullptr};
  EXPECT_NE(check_engine_ops(broken), "");
}

TEST(EngineTable, CapabilityMismatchIsAUsageError) {
  EXPECT_THROW(Engine::open("psync", {.fixed_buffers = true}), UsageError);
  EXPECT_THROW(Engine::open("libaio", {.sqpoll = true}), UsageError);
  EXPECT_THROW(Engine::open("nope"), UsageError);
}

TEST_P(EngineTest, ODirectWriteThenRead) {
  const auto& v = GetParam();
  TempFile f;
  auto fd = UniqueFd::open(f.path, O_RDWR | O_DIRECT);
  constexpr size_t kLen = 64 * 1024;
  auto wbuf = AlignedBuffer::create(kLen, 4096);
  auto rbuf = AlignedBuffer::create(kLen, 4096);
  fill_pattern(wbuf.span(), {1, 1, 42}, 0);
  EngineOptions opts = v.opts;
  opts.depth = 8;
  if (opts.fixed_buffers) opts.registered = {{wbuf.data(), kLen}, {rbuf.data(), kLen}};
  Engine e = [&] {
    try {
      return Engine::open(v.engine, opts);
    } catch (const SkipError& s) {
      throw;
    }
  }();
  // Four writes in flight at once (one for psync), then four reads.
  std::vector<IoRequest> w, r;
  for (unsigned i = 0; i < 4; ++i) {
    w.push_back({fd.get(), wbuf.data() + i * (kLen / 4), kLen / 4, i * (kLen / 4), true, i});
    r.push_back({fd.get(), rbuf.data() + i * (kLen / 4), kLen / 4, i * (kLen / 4), false, 10 + i});
  }
  for (auto* batch : {&w, &r}) {
    e.submit(*batch);
    std::vector<IoCompletion> done(4);
    unsigned got = 0;
    while (got < 4) got += e.reap(1, std::span(done).subspan(got));
    for (auto& c : done) EXPECT_EQ(c.res, int64_t(kLen / 4)) << v.label;
  }
  EXPECT_TRUE(Verifier({1, 1, 42}, "f").intact(rbuf.span(), 0)) << v.label;
  EXPECT_EQ(e.completed(), 8u);
}

INSTANTIATE_TEST_SUITE_P(
    AllEngines, EngineTest,
    ::testing::Values(Variant{"psync", {}, "psync"}, Variant{"libaio", {}, "libaio"},
                      Variant{"io_uring", {}, "uring_plain"}, Variant{"io_uring", {.fixed_buffers = true}, "uring_fixed"},
                      Variant{"io_uring", {.force_async = true}, "uring_async"},
                      Variant{"io_uring", {.sqpoll = true}, "uring_sqpoll"}),
    [](const auto& info) { return std::string(info.param.label); });

TEST(FaultInjector, DropRestoresTheFillAndFlipChangesAByte) {
  TempFile f;
  auto fd = UniqueFd::open(f.path, O_RDWR | O_DIRECT);
  auto buf = AlignedBuffer::create(4096, 4096);
  fill_pattern(buf.span(), {1, 1, 1}, 0);
  ASSERT_EQ(::pwrite(fd.get(), buf.data(), 4096, 0), 4096);
  for (auto mode : {FaultMode::drop, FaultMode::flip}) {
    set_fault_config({mode, 1.0});
    auto e = Engine::open("libaio");
    buf.fill(std::byte{0x2a});
    EXPECT_EQ(e.run_one({fd.get(), buf.data(), 4096, 0, false, 1}), 4096);
    set_fault_config({});
    auto c = Verifier({1, 1, 1}, "f", {.fill = std::byte{0x2a}}).verify(buf.span(), 0);
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(c[0].cls, mode == FaultMode::drop ? CorruptionClass::fill_byte : CorruptionClass::garbage);
  }
  EXPECT_THROW(parse_fault("bogus"), UsageError);
  EXPECT_THROW(parse_fault("flip:2"), UsageError);
  EXPECT_DOUBLE_EQ(parse_fault("drop:0.25").rate, 0.25);
}

// A submission larger than the queue must not spin until the hang oracle
// fires: the engine reaps to make room and hands those completions out later.
TEST(EngineQueue, SubmittingMoreThanTheDepthCompletesEveryRequest) {
  for (const char* name : {"libaio", "io_uring"}) {
    if (engine_unavailable(name)) continue;
    TempFile f;
    auto fd = UniqueFd::open(f.path, O_RDWR | O_DIRECT);
    auto buf = AlignedBuffer::create(4096 * 8, 4096);
    buf.fill(std::byte{0});
    ASSERT_EQ(::pwrite(fd.get(), buf.data(), buf.size(), 0), static_cast<ssize_t>(buf.size()));
    auto e = Engine::open(name, {.depth = 4});
    std::vector<IoRequest> reqs;
    for (uint64_t i = 0; i < 12; ++i)
      reqs.push_back({.fd = fd.get(), .buf = buf.data() + (i % 8) * 4096, .len = 4096, .offset = (i % 8) * 4096,
                      .user = i});
    auto t0 = std::chrono::steady_clock::now();
    e.submit(reqs);
    std::set<uint64_t> seen;
    IoCompletion c[16];
    while (seen.size() < reqs.size()) {
      unsigned n = e.reap(1, c, 5000);
      ASSERT_GT(n, 0u) << name << ": a completion went missing";
      for (unsigned i = 0; i < n; ++i) {
        EXPECT_EQ(c[i].res, 4096) << name;
        EXPECT_TRUE(seen.insert(c[i].user).second) << name << ": completion " << c[i].user << " twice";
      }
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << name;
  }
}
