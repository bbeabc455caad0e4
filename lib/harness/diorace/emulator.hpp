// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel reports that an emulator causes, not the kernel: a short list of
// signatures, each with its source. Applied only to a guest the VM runner
// booted under TCG (it knows: it chose the accelerator), never on bare metal
// or KVM. A FAIL whose only evidence is such a report (and the W taint the
// warning itself set) becomes ERROR "emulator artifact", its evidence kept;
// prove, the nightly and bisect boot again instead of counting it.
#pragma once
#include <optional>
#include <span>
#include <string>

#include "diorace/outcome.hpp"
#include "diorace/record.hpp"

namespace diorace {

struct EmulatorArtifact {
  const char* name;
  const char* needles[3];  // every non-null one must appear in the report's block
  const char* source;      // why it is the emulator's (a kernel comment, an emulator bug)
};
std::span<const EmulatorArtifact> emulator_artifacts();

// The artifact a kernel report is, if any.
std::optional<EmulatorArtifact> emulator_artifact(const std::string& report_text);

// Under TCG: turns a FAIL decided only by emulator artifacts into ERROR.
// True when it did.
bool reclassify_emulator_artifacts(CaseResult& r);

// The VM runner's step: under accel "tcg" only (never "kvm", never a run on
// this machine), each case of the guest's record; the exit code follows.
// True when a case was changed.
bool reclassify_emulator_artifacts(RunRecord& rec, const std::string& accel);

// The reason prefix of such an ERROR (prove, nightly and bisect look for it).
inline constexpr const char* kEmulatorArtifactReason = "emulator artifact";

}  // namespace diorace
