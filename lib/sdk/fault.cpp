// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/fault.hpp"

#include <atomic>
#include <cstdlib>

#include "diorace/error.hpp"

namespace diorace {

namespace {
FaultConfig g_cfg;
std::atomic<uint64_t> g_counter{0};
}  // namespace

FaultConfig parse_fault(const std::string& spec) {
  FaultConfig cfg;
  auto colon = spec.find(':');
  std::string mode = spec.substr(0, colon);
  if (mode == "flip")
    cfg.mode = FaultMode::flip;
  else if (mode == "drop")
    cfg.mode = FaultMode::drop;
  else if (mode == "oracle")
    cfg.mode = FaultMode::oracle;
  else
    throw UsageError("--inject-fault: expected flip, drop or oracle[:RATE], got '" + spec + "'");
  if (colon != std::string::npos) {
    char* end = nullptr;
    cfg.rate = std::strtod(spec.c_str() + colon + 1, &end);
    if (*end != '\0' || !(cfg.rate > 0.0 && cfg.rate <= 1.0))
      throw UsageError("--inject-fault: rate must be in (0, 1], got '" + spec.substr(colon + 1) + "'");
  }
  return cfg;
}

void set_fault_config(const FaultConfig& cfg) noexcept { g_cfg = cfg; }
const FaultConfig& fault_config() noexcept { return g_cfg; }

bool fault_should_fire() noexcept {
  if (g_cfg.mode == FaultMode::none) return false;
  if (g_cfg.rate >= 1.0) return true;
  // A Weyl sequence is enough: deterministic, thread-safe, evenly spread.
  uint64_t n = g_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  double u = static_cast<double>((n * 0x9E3779B97F4A7C15ULL) >> 11) / 9007199254740992.0;
  return u < g_cfg.rate;
}

void fault_flip(void* buf, size_t len) noexcept {
  if (len == 0) return;
  static_cast<unsigned char*>(buf)[len / 2 + 17 < len ? len / 2 + 17 : len / 2] ^= 0x5a;
}

}  // namespace diorace
