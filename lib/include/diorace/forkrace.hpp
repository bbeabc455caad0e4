// SPDX-License-Identifier: GPL-2.0-or-later
// One round of the fork-vs-in-flight-read race (forkscrew's design), shared
// by the cases that drive it through different engines:
//   1. an asynchronous O_DIRECT read of 4 KiB into buffer+512 (it spans the
//      buffer's first two pages) is submitted on `async`;
//   2. a child is forked (it touches the pages or exits at once);
//   3. a synchronous O_DIRECT read into buffer+512+4096 (sharing the second
//      page) breaks copy-on-write in the parent;
//   4. the async read is reaped, the child reaped, both reads verified.
// On a kernel that takes plain page references for O_DIRECT, the async read's
// DMA lands in the page only the child maps and the parent keeps the fill.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "diorace/engine.hpp"
#include "diorace/forkstorm.hpp"
#include "diorace/pattern.hpp"
#include "diorace/registry.hpp"

namespace diorace {

struct ForkRaceRound {
  int fd = -1;                  // O_DIRECT file holding the pattern
  PatternKey key;
  std::string file;             // its name, for reports
  uint64_t offset = 0;          // file offset of the async read (4 KiB aligned)
  std::byte* buffer = nullptr;  // 3 pages, page aligned
  std::byte fill{0x2a};
  ChildAction child = ChildAction::touch_pages;
  std::chrono::microseconds settle{0};  // pause between submission and fork
  std::string context;          // prefix for the reports
};

inline constexpr size_t kForkRaceBufferSize = 3 * 4096;

// The commits that fixed fork vs O_DIRECT in mainline (page pinning for
// O_DIRECT), shared by every case that exercises that race.
inline const std::vector<Commit> kForkVsDirectIoFixes = {
    {"920756a3306a35f1c08f25207d375885bef98975", "block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages", "v6.3"},
    {"1ccf164ec866cb8575ab9b2e219fca875089c60e", "block: Use iov_iter_extract_pages() and page pinning in direct-io.c", "v6.5"},
};

// Runs one round; returns what the verifier found. Throws on I/O errors.
std::vector<Corruption> fork_race_round(Engine& async, Engine& sync, const ForkRaceRound& round);

}  // namespace diorace
