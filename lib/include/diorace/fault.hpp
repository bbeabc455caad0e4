// SPDX-License-Identifier: GPL-2.0-or-later
// Test-only fault injection in the engine layer. It proves that the FAIL path,
// the corruption report and the exit code work end to end; it is off unless the
// program is given --inject-fault, which prints a loud banner, and every result
// produced while it is on carries "fault_injected": true.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace diorace {

// flip, drop: completed reads are corrupted in the engine layer. oracle: the
// cases' own oracles (oracles.hpp) doctor what they observe: a system call's
// result is taken as wrong, a write that blocked as completed, a child that
// would finish as hung.
enum class FaultMode { none, flip, drop, oracle };

struct FaultConfig {
  FaultMode mode = FaultMode::none;
  double rate = 1.0;  // probability per completed read
};

// Parses "flip", "drop", "flip:0.5"; throws UsageError on anything else.
FaultConfig parse_fault(const std::string& spec);
void set_fault_config(const FaultConfig& cfg) noexcept;
[[nodiscard]] const FaultConfig& fault_config() noexcept;
[[nodiscard]] inline bool fault_active() noexcept { return fault_config().mode != FaultMode::none; }
// Decides, per completed read, whether to inject (thread-safe).
[[nodiscard]] bool fault_should_fire() noexcept;
// Oracle mode: whether an oracle doctors this observation (the library's
// oracles, oracles.hpp, and the explorer's model, model.hpp, ask it once per
// observation they would otherwise let pass).
[[nodiscard]] inline bool fault_doctor() noexcept {
  return fault_config().mode == FaultMode::oracle && fault_should_fire();
}
// Flips one byte in the middle of a completed read.
void fault_flip(void* buf, size_t len) noexcept;

}  // namespace diorace
