// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <cstdint>

#include "diorace/buffer.hpp"

using namespace diorace;

TEST(AlignedBuffer, AlignmentAndMisalignment) {
  for (size_t align : {512ul, 4096ul, 65536ul, 2ul << 20}) {
    for (size_t mis : {0ul, 512ul, 100ul, 4096ul}) {
      auto b = AlignedBuffer::create(12345, align, mis);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(b.base()) % align, 0u) << align;
      EXPECT_EQ(b.data(), b.base() + mis);
      EXPECT_EQ(b.size(), 12345u);
      b.fill(std::byte{0xab});
      EXPECT_EQ(b.data()[12344], std::byte{0xab});
      EXPECT_GE(b.mapping().size(), mis + 12345);
    }
  }
}

TEST(AlignedBuffer, MoveTransfersOwnership) {
  auto a = AlignedBuffer::create(4096);
  auto* p = a.data();
  AlignedBuffer b = std::move(a);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.data(), nullptr);
  a = std::move(b);
  EXPECT_EQ(a.data(), p);
}

TEST(AlignedBuffer, RejectsBadArguments) {
  EXPECT_THROW(AlignedBuffer::create(4096, 3000), std::invalid_argument);
  EXPECT_THROW(AlignedBuffer::create(0), std::invalid_argument);
}
