// SPDX-License-Identifier: GPL-2.0-or-later
// A hash that stays the same across builds, compilers and library versions
// (XXH3-64), for keys that are stored or sent elsewhere (KCIDB ids, the
// bisection log's keys). std::hash promises none of that.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace diorace {

[[nodiscard]] uint64_t stable_hash(std::string_view data) noexcept;
// 16 lower-case hex digits.
[[nodiscard]] std::string stable_hash_hex(std::string_view data);

}  // namespace diorace
