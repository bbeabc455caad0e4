// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "diorace/buffer.hpp"
#include "diorace/pattern.hpp"

using namespace diorace;

namespace {
constexpr PatternKey kKey{7, 3, 0x1234};

AlignedBuffer patterned(size_t size, uint64_t off, PatternKey key = kKey) {
  auto b = AlignedBuffer::create(size);
  fill_pattern(b.span(), key, off);
  return b;
}
}  // namespace

TEST(Pattern, IntactDataVerifies) {
  auto b = patterned(64 * 1024, 0x10000);
  Verifier v(kKey, "f");
  EXPECT_TRUE(v.intact(b.span(), 0x10000));
  EXPECT_TRUE(v.verify(b.span(), 0x10000).empty());
  // The same bytes read at another offset are not intact.
  EXPECT_FALSE(v.intact(b.span(), 0x20000));
}

TEST(Pattern, SectorsDescribeThemselves) {
  auto b = patterned(4096, 0x3000);
  SectorHeader h{};
  ASSERT_TRUE(decode_sector(b.data() + 1024, h));
  EXPECT_EQ(h.offset, 0x3400u);
  EXPECT_EQ(h.file_id, 7u);
  EXPECT_EQ(h.generation, 3u);
  EXPECT_EQ(h.seed, 0x1234u);
  b.data()[1024 + 100] ^= std::byte{1};
  EXPECT_FALSE(decode_sector(b.data() + 1024, h));
}

TEST(Pattern, FillByteClass) {
  auto b = patterned(8192, 0);
  std::memset(b.data() + 4096 - 512, 0xfa, 512 + 3584);  // a lost page-sized DMA
  Verifier v(kKey, "data.bin", {.fill = std::byte{0xfa}});
  auto c = v.verify(b.span(), 0);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].cls, CorruptionClass::fill_byte);
  EXPECT_EQ(c[0].file, "data.bin");
  EXPECT_EQ(c[0].offset, 4096u - 512);
  EXPECT_EQ(c[0].length, 4096u);  // merged across sectors
  EXPECT_FALSE(c[0].expected.empty());
  EXPECT_EQ(c[0].expected.size(), c[0].received.size());
  EXPECT_NE(c[0].describe().find("fill_byte"), std::string::npos);
}

TEST(Pattern, StaleGenerationClass) {
  auto b = patterned(4096, 0);
  auto old = patterned(512, 1024, {7, 2, 0x1234});
  std::memcpy(b.data() + 1024, old.data(), 512);
  auto c = Verifier(kKey, "f").verify(b.span(), 0);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].cls, CorruptionClass::stale_generation);
  EXPECT_NE(c[0].detail.find("generation 2"), std::string::npos);
}

TEST(Pattern, MisdirectedClass) {
  auto b = patterned(4096, 0);
  auto other_off = patterned(512, 0x9000);
  std::memcpy(b.data(), other_off.data(), 512);
  auto other_file = patterned(512, 512, {8, 3, 0x1234});
  std::memcpy(b.data() + 2048, other_file.data(), 512);
  auto c = Verifier(kKey, "f").verify(b.span(), 0);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].cls, CorruptionClass::misdirected);
  EXPECT_NE(c[0].detail.find("offset 0x9000"), std::string::npos);
  EXPECT_EQ(c[1].cls, CorruptionClass::misdirected);
  EXPECT_EQ(c[1].offset / 512 * 512, 2048u);  // the first differing byte of that sector
  EXPECT_NE(c[1].detail.find("file 8"), std::string::npos);
}

TEST(Pattern, GarbageClassLocatesTheByte) {
  auto b = patterned(4096, 0x1000);
  b.data()[777] ^= std::byte{0x40};
  auto c = Verifier(kKey, "f").verify(b.span(), 0x1000);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].cls, CorruptionClass::garbage);
  EXPECT_EQ(c[0].offset, 0x1000u + 777);
  EXPECT_EQ(c[0].length, 1u);
}

TEST(Pattern, ReportsAreBounded) {
  auto b = patterned(1 << 20, 0);
  for (size_t i = 0; i < (1 << 20); i += 1024) b.data()[i + 100] ^= std::byte{1};
  auto c = Verifier(kKey, "f", {.max_reports = 4}).verify(b.span(), 0);
  EXPECT_EQ(c.size(), 4u);
}

// The verifier must not be the bottleneck: compare with memcmp on the same
// buffer (against a reference copy). Run alone, the bench prints GB/s.
TEST(Pattern, VerifierThroughputVersusMemcmp) {
  auto s = measure_verifier_speed(8 << 20);
  const double gv = s.verifier_gbps, gm = s.memcmp_gbps;
  std::printf("verifier %.2f GB/s, memcmp %.2f GB/s (8 MiB buffer)\n", gv, gm);
#ifdef NDEBUG
  EXPECT_GE(gv, gm / 2) << "the verifier is slower than half of memcmp";
#endif
}

// The fast path trusts no field it cannot check: a sector whose only damage is
// its stored checksum (or any single header field) fails it.
TEST(Pattern, FastPathCatchesEveryHeaderField) {
  for (size_t byte = 0; byte < sizeof(SectorHeader); ++byte) {
    auto b = patterned(4096, 0x2000);
    b.data()[1024 + byte] ^= std::byte{0x10};
    Verifier v(kKey, "f");
    EXPECT_FALSE(v.intact(b.span(), 0x2000)) << "header byte " << byte;
    EXPECT_FALSE(v.verify(b.span(), 0x2000).empty()) << "header byte " << byte;
  }
}
