// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/outcome.hpp"

#include <fmt/format.h>

#include "diorace/registry.hpp"

namespace diorace {

void CaseResult::fail(FailKind k, std::string why) {
  if (verdict != Verdict::fail) {
    verdict = Verdict::fail;
    kind = k;
    reason = std::move(why);
  }
}

namespace {

bool has_own_race(const CaseResult& c) {
  for (const auto& ev : c.events)
    if (auto* k = std::get_if<KernelReportEvent>(&ev); k && k->own_race) return true;
  return false;
}

}  // namespace

bool meets_control(const Control& ctl, const CaseResult& c) {
  if (ctl.expect == Verdict::pass) {
    if (c.verdict != Verdict::pass) return false;
    // On a detector kernel the PASS must have been armed.
    return !ctl.kernel.starts_with("debug:") || c.detectors_missing.empty();
  }
  if (c.verdict != Verdict::fail || c.kind == FailKind::crash) return false;
  const bool own = has_own_race(c);
  if (ctl.kind != FailKind::none && c.kind != ctl.kind && !(c.kind == FailKind::splat && (ctl.own_race || own)))
    return false;
  return !ctl.own_race || own;
}

int exit_code_for(const std::vector<CaseResult>& results) {
  bool any_fail = false, any_error = false, all_skip = !results.empty();
  for (const auto& r : results) {
    any_fail |= r.verdict == Verdict::fail;
    any_error |= r.verdict == Verdict::error || r.verdict == Verdict::incomplete;
    all_skip &= r.verdict == Verdict::skip;
  }
  if (any_fail) return kExitFailed;
  if (any_error) return kExitError;
  if (all_skip) return kExitAllSkip;
  return kExitClean;
}

std::string summary_line(const CaseResult& r) {
  std::string name = r.variant.empty() ? r.name : r.name + "[" + r.variant + "]";
  std::string s = fmt::format("{:<5} {}", to_string(r.verdict), name);
  if (r.verdict == Verdict::fail) s += fmt::format(" ({})", to_string(r.kind));
  s += fmt::format(": {} iterations, {:.1f} s", r.iterations, r.duration_s);
  if (r.failures) s += fmt::format(", {} failed", r.failures);
  if (r.first_failure_s) s += fmt::format(", first failure after {:.2f} s", *r.first_failure_s);
  if (!r.reason.empty()) s += " - " + r.reason;
  if (!r.detectors_missing.empty()) {
    s += " [ran WITHOUT its race detector:";
    for (auto& d : r.detectors_missing) s += " " + d;
    s += "]";
  }
  if (!r.coverage.empty()) {
    if (r.coverage == "measured")
      s += fmt::format(" [race hits: {} ({:.2f}/iteration)]", r.race_hits,
                       r.iterations ? static_cast<double>(r.race_hits) / static_cast<double>(r.iterations) : 0.0);
    else
      s += " [coverage " + r.coverage + "]";
  }
  if (r.unrelated_findings) s += fmt::format(" [{} unrelated kernel report(s), see events]", r.unrelated_findings);
  // A PASS without the kernel-log oracle it declares (not root, no
  // /dev/kmsg) says so on its own line: it saw no splat because it could not.
  for (const auto& ev : r.events)
    if (const auto* n = std::get_if<NoteEvent>(&ev);
        n && r.verdict == Verdict::pass && n->text.rfind("kernel log oracle off: ", 0) == 0 &&
        n->text.find("not among the case's declared oracles") == std::string::npos)
      s += " [kernel-log oracle OFF: " + n->text.substr(23) + "]";
  if (r.fault_injected) s += " [FAULT INJECTED]";
  return s;
}

std::string format_result(const CaseResult& r, size_t max_events, size_t max_chars) {
  std::string s = summary_line(r) + "\n";
  size_t shown = 0;
  for (const auto& ev : r.events) {
    if (shown >= max_events) break;
    if (is_context(ev)) continue;  // context, not evidence
    std::string body = evidence_text(ev);
    if (body.empty()) continue;
    if (body.size() > max_chars) body = body.substr(0, max_chars) + " ...";
    s += "  " + body + "\n";
    ++shown;
  }
  return s;
}

}  // namespace diorace
