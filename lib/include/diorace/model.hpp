// SPDX-License-Identifier: GPL-2.0-or-later
// The explorer's oracles over a concurrent history (docs/explore-model.md has
// every rule with its source). A history is what a program did: for each
// operation its time window [start, end] on one monotonic clock, the inode it
// reached, its result, and for reads the bytes that came back.
//
//   contents  - per byte, the set of values a read may return: the value of
//               every write or zeroing event that is not superseded before
//               the read started (a later event that itself completed before
//               the read started and had its block to itself), and of every
//               one that overlapped the read; failed or interrupted writes may
//               or may not have happened (Knossos' "info"): they are
//               candidates but supersede nothing. Checked per inode and byte
//               independently (Porcupine's partitioning).
//   owed      - byte counts: a short read below every end of file the read
//               could have seen, bytes past every end of file, a short write;
//               and the errno sets each operation may return.
//   blocking  - a modification that started and completed while the
//               filesystem was frozen.
//
// Writes carry stamps: byte p of write w holds stamp_byte(nonce, w, p), never
// 0 and never kPoison (what a read's buffer holds before the read), so a
// mismatch names the write a stale byte came from.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "diorace/oracles.hpp"
#include "diorace/program.hpp"

namespace diorace {

inline constexpr uint8_t kPoison = 0xff;

// The byte write `write_id` puts at file offset `pos`: 1..254.
[[nodiscard]] inline uint8_t stamp_byte(uint64_t nonce, uint64_t write_id, uint64_t pos) noexcept {
  uint64_t x = nonce ^ (write_id * 0x9e3779b97f4a7c15ULL) ^ (pos * 0xc2b2ae3d27d4eb4fULL);
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 29;
  return static_cast<uint8_t>(1 + x % 254);
}

struct OpEvent {
  unsigned actor = 0;
  unsigned index = 0;     // the operation's index in its actor
  Op op;
  uint64_t inode = 0;     // the inode its descriptor reached (0: none)
  int64_t start_ns = 0;   // CLOCK_MONOTONIC before the call (submission, for async requests)
  int64_t end_ns = 0;     // after it returned (reaped); 0: it never completed
  int64_t result = 0;     // bytes or -errno
  uint64_t write_id = 0;  // writes: the stamp's id
  std::vector<uint8_t> data;  // reads: the first `result` bytes of the buffer
  uint64_t new_inode = 0;     // recreate: the inode renamed over the slot
  int64_t frozen_from_ns = 0, frozen_until_ns = 0;  // freeze: FIFREEZE returned, FITHAW called (0: not frozen)

  [[nodiscard]] bool completed() const noexcept { return end_ns != 0; }
  [[nodiscard]] std::string where() const;  // "actor 1 op 4 (write.direct.uring-iopoll)"
};

struct InodeBirth {
  uint64_t inode = 0;
  unsigned file = 0;
  uint64_t size = 0;     // a hole of this size
  int64_t time_ns = 0;   // when it got its size (before any operation could reach it)
  bool block_device = false;  // a loop device: fixed size; buffered writes go to its own page cache
};

struct History {
  uint64_t nonce = 0;
  std::string fstype;            // "ext4", "xfs", "btrfs"
  uint32_t dio_offset_align = 0;  // statx STATX_DIOALIGN (0: unknown: EINVAL is allowed)
  uint32_t dio_mem_align = 0;
  std::vector<InodeBirth> births;
  std::vector<OpEvent> events;
};

struct ModelStats {
  uint64_t reads_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t environment_errors = 0;  // ENOSPC, EDQUOT, ENOMEM, EFBIG: not findings, counted
};

// Every finding of the three oracles; each names its oracle ("data",
// "result", "must_block"), the operation (detail.actor, detail.index,
// detail.shape) and, for contents, the first bad byte with its candidates.
[[nodiscard]] std::vector<Finding> check_history(const History& h, ModelStats* stats = nullptr);

// A finding's signature: "oracle|class|shape|filesystem" (e.g.
// "result|short_read|read.direct.uring-iopoll|ext4"): what deduplicates
// findings and what replay and minimize look for.
[[nodiscard]] std::string finding_signature(const Finding& f, const std::string& fs);

// The errnos an operation may return (R1, R4, R6 of the model), given what
// the history says about its inode: `mixed` when buffered writes and direct
// requests had both reached it before the operation ended (then a collision
// may have left EIO in its writeback error, and a direct request may meet a
// delayed allocation: EIO). Exposed for tests.
[[nodiscard]] bool errno_allowed(const OpEvent& e, int err, const History& h, bool mixed);

}  // namespace diorace
