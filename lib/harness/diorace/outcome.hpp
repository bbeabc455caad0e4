// SPDX-License-Identifier: GPL-2.0-or-later
// A case's result: one type for the runner, the VM runner, the store and
// every report (its JSON form: src/codec.cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/evidence.hpp"
#include "diorace/verdict.hpp"

namespace diorace {

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
  std::string started_at, finished_at;  // ISO 8601 UTC; "" for a case that never started
  std::vector<Event> events;             // the evidence, in the order it was found
  // Whether the kernel carries the case's fixing commits, from its package's
  // changelog (distro.hpp): "" (not known), carried, partial, lacking, "not
  // needed" (a variant declared to pass on that kernel); and
  // what was found ("lacks ce56d21355cd (changelog of ...)").
  std::string kernel_fix_state, kernel_fix;

  // Applies a stronger piece of evidence: FAIL beats everything else.
  void fail(FailKind k, std::string why);
};
void to_json(nlohmann::json& j, const CaseResult& r);
void from_json(const nlohmann::json& j, CaseResult& r);

struct Control;
// Whether a result meets a proof control's expectation (`diorace prove`): a
// PASS control wants a PASS (armed, on a detector kernel); a FAIL control a
// FAIL of its kind (never a guest crash), or one whose first evidence is a
// kernel report of the case's own race (its declared signatures: the bug's
// own WARNING or detector report); a control that names its own race wants
// that report among the evidence.
[[nodiscard]] bool meets_control(const Control& ctl, const CaseResult& c);

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
