// One outcome vocabulary for the runner, the VM runner and every report.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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

struct CaseResult {
  std::string name;
  std::string variant;  // "" or e.g. "fixed" for matrix cases
  Verdict verdict = Verdict::incomplete;
  FailKind kind = FailKind::none;
  std::string reason;  // SKIP/ERROR reason, FAIL summary
  uint64_t seed = 0;
  nlohmann::json params = nlohmann::json::object();
  uint64_t iterations = 0;
  uint64_t failures = 0;  // failed iterations (with --keep-going, can exceed 1)
  double duration_s = 0;
  double setup_s = 0;  // set-up before the first iteration (fixture writing included)
  std::optional<double> first_failure_s;  // from case start
  uint64_t forks = 0;
  uint64_t ios = 0;
  std::vector<std::string> detectors_missing;  // detectors the verdict needs but the kernel lacks
  bool fault_injected = false;
  std::string coverage;         // "" (no probes), "measured", or "unknown: why"
  uint64_t race_hits = 0;       // coverage oracle: times the race window was reached
  uint64_t unrelated_findings = 0;  // detector reports that are not the case's race
  nlohmann::json events = nlohmann::json::array();  // corruption reports, splats, stacks

  // Applies a stronger piece of evidence: FAIL beats everything else.
  void fail(FailKind k, std::string why);
};
void to_json(nlohmann::json& j, const CaseResult& r);
void from_json(const nlohmann::json& j, CaseResult& r);

// Exit code for a set of results: 1 if any FAIL, else 2 if any ERROR or
// INCOMPLETE, else 4 if all SKIP (and at least one), else 0.
int exit_code_for(const std::vector<CaseResult>& results);
// One line: "PASS dma_thread (1234 iterations, 10.0 s)"
std::string summary_line(const CaseResult& r);
// A result for a person: the summary line, then the evidence of up to
// max_events events (corruption reports, kernel reports, stacks, findings,
// taint, crash excerpts), each indented and at most max_chars long. The one
// printer of `run`, `vm` and `results show`.
std::string format_result(const CaseResult& r, size_t max_events = 3, size_t max_chars = 4000);

}  // namespace diorace
