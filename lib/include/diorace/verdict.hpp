// SPDX-License-Identifier: GPL-2.0-or-later
// The outcome vocabulary: verdicts, kinds of failure, exit codes.
#pragma once
#include <string_view>

namespace diorace {

enum class Verdict { pass, fail, skip, error, incomplete };
// wrong_result: a system call returned what the kernel does not owe (a byte
// count, an error); not_blocked: an operation the kernel must hold back (a
// write into a frozen filesystem) completed.
enum class FailKind { none, corruption, splat, taint, hang, crash, wrong_result, not_blocked };

std::string_view to_string(Verdict v) noexcept;  // "PASS", "FAIL", ...
std::string_view to_string(FailKind k) noexcept; // "corruption", ...
Verdict verdict_from_string(std::string_view s);
FailKind fail_kind_from_string(std::string_view s);

// Exit codes of `diorace run` and `diorace vm` (documented in the README).
inline constexpr int kExitClean = 0;     // no failure found
inline constexpr int kExitFailed = 1;    // a case failed: evidence of a kernel bug
inline constexpr int kExitError = 2;     // usage, set-up or harness error
inline constexpr int kExitNoBoot = 3;    // vm: the guest never reached the test
inline constexpr int kExitAllSkip = 4;   // every requested case was skipped

}  // namespace diorace
