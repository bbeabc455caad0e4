// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/hash.hpp"

#include <xxhash.h>

#include <fmt/format.h>

namespace diorace {

uint64_t stable_hash(std::string_view data) noexcept { return XXH3_64bits(data.data(), data.size()); }

std::string stable_hash_hex(std::string_view data) { return fmt::format("{:016x}", stable_hash(data)); }

}  // namespace diorace
