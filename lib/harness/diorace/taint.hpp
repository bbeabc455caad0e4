// SPDX-License-Identifier: GPL-2.0-or-later
// Taint oracle: /proc/sys/kernel/tainted before and after a case; flags that
// appear during the case are evidence, reported by letter.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace diorace {

// The taint file; the DIORACE_TAINT_FILE environment variable overrides it
// (tests simulate a taint that way instead of tainting the host kernel).
std::string taint_path();
std::optional<uint64_t> read_taint();
// "W (warning), D (die)" for the set bits.
std::string describe_taint(uint64_t flags);
std::string taint_letters(uint64_t flags);

}  // namespace diorace
