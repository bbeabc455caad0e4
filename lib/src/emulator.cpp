// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/emulator.hpp"

#include <variant>

namespace diorace {

namespace {

constexpr EmulatorArtifact kArtifacts[] = {
    // A #DB with DR_STEP set in kernel mode (a stray single-step trap, EFLAGS
    // with the trap flag set). The kernel never single-steps itself outside
    // kprobes and KGDB, which consume the trap first; the comment above the
    // WARN_ON_ONCE(dr6 & DR_STEP) in exc_debug_kernel() (arch/x86/kernel/
    // traps.c, v5.10 on) says a known way to get here is QEMU leaking #DB into
    // the guest. Seen here: Debian 6.12.118 under TCG during copy_process,
    // EFLAGS with garbage in its reserved upper bits.
    {"stray single-step #DB in kernel mode (exc_debug_kernel)",
     {"arch/x86/kernel/traps.c", "exc_debug_kernel", nullptr},
     "the kernel's own comment at WARN_ON_ONCE(dr6 & DR_STEP) in exc_debug_kernel(), arch/x86/kernel/traps.c: "
     "a known way to trigger it is QEMU leaking #DB into the guest"},
};

}  // namespace

std::span<const EmulatorArtifact> emulator_artifacts() { return kArtifacts; }

std::optional<EmulatorArtifact> emulator_artifact(const std::string& text) {
  for (const auto& a : kArtifacts) {
    bool all = true;
    for (const char* n : a.needles)
      if (n && text.find(n) == std::string::npos) all = false;
    if (all) return a;
  }
  return std::nullopt;
}

bool reclassify_emulator_artifacts(CaseResult& r) {
  if (r.verdict != Verdict::fail) return false;
  std::optional<EmulatorArtifact> seen;
  for (const auto& ev : r.events) {
    if (const auto* k = std::get_if<KernelReportEvent>(&ev)) {
      if (k->what.unrelated) continue;
      auto a = emulator_artifact(k->what.text.empty() ? k->what.title : k->what.text);
      if (!a) return false;  // a report of the kernel's own: the FAIL stands
      seen = a;
    } else if (const auto* f = std::get_if<FindingEvent>(&ev); f && f->what.oracle == "kmsg") {
      // The explorer's own copy of a kernel report (attributed to a program):
      // the same record, judged the same way.
      auto a = emulator_artifact(f->what.detail.value("headline", f->what.summary));
      if (!a) return false;
      seen = a;
    } else if (const auto* t = std::get_if<TaintEvent>(&ev)) {
      if (t->flags != "W") return false;  // W: the warning above set it
    } else if (!std::holds_alternative<NoteEvent>(ev)) {
      return false;  // corruption, a finding, a hang, a crash: evidence of its own
    }
  }
  if (!seen) return false;
  r.verdict = Verdict::error;
  r.kind = FailKind::none;
  r.failures = 0;
  r.first_failure_s.reset();
  r.reason = std::string(kEmulatorArtifactReason) + " under TCG: " + seen->name + " (" + seen->source +
             "); not a verdict on the kernel, the evidence is kept";
  return true;
}

bool reclassify_emulator_artifacts(RunRecord& rec, const std::string& accel) {
  if (accel != "tcg") return false;
  bool changed = false;
  for (auto& c : rec.cases) changed = reclassify_emulator_artifacts(c) || changed;
  if (changed && rec.exit_code) rec.exit_code = exit_code_for(rec.cases);
  return changed;
}

}  // namespace diorace
