// SPDX-License-Identifier: GPL-2.0-or-later
// diorace in LAVA labs (the scheduler of KernelCI and LKFT): job definitions
// for a kernel and a set of cases, the run document carried through the
// job's log intact, every case reported as a LAVA test case, and a finished
// job read back into a run record whose statuses keep diorace's meaning.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/record.hpp"

namespace diorace {

// A LAVA test case name for a case: the KCIDB test path, diorace.CASE[.VARIANT].
std::string lava_case_name(const CaseResult& c);
// LAVA's result for a diorace outcome: pass, fail, skip; unknown for ERROR
// and INCOMPLETE (never pass).
std::string lava_result(Verdict v);

// The run document as printed into the job's log: a begin marker with its
// length and XXH3 checksum, the JSON in base64 lines of 76 characters, an
// end marker.
std::string lava_document_block(const RunRecord& record);
// The last complete document block in a log (LAVA's log of the job, or the
// console); nullopt with `why` when there is none or it is damaged.
std::optional<RunRecord> find_lava_document(const std::string& log, std::string& why);

// Inside a LAVA job: each case of the run document at `path` as a LAVA
// test case (lava-test-case, or its signal line where the test shell's
// helpers are absent), then the document block. A missing or broken
// document, or one with no case, is the failing test case diorace.harness.
// Returns 0: a LAVA step must not end the definition.
int lava_report_document(const std::string& path);

// What a job definition needs.
struct LavaJobSpec {
  std::string device_type = "qemu";  // a qemu device type, or a lab's board type (with scratch_device)
  std::string job_name;
  std::string kernel_url, initramfs_url;  // qemu: the kernel image and diorace's LAVA initramfs
  std::string testdef_repo, testdef_path = "lava/diorace.yaml";  // the test definition (git)
  std::string testdef_revision;
  std::vector<std::string> cases;  // "all" or names
  std::vector<std::string> run_args;  // extra `diorace run` arguments (--duration 60, --param ...)
  std::string scratch_device;  // a board: the lab's disk for destructive tests (diorace run --device)
  std::vector<std::string> tags;
  unsigned job_timeout_min = 60, boot_timeout_min = 10, test_timeout_min = 45;
  unsigned cpus = 2, mem_mib = 2048;
  std::string priority = "medium", visibility = "public";
};
// One job definition (LAVA accepts YAML; JSON is YAML). Throws UsageError
// for an incomplete spec.
nlohmann::json lava_job(const LavaJobSpec& spec);

// A finished job read back: its log (lava-run's output.yaml or a server's
// /api/v0.2/jobs/ID/logs/, one YAML list of {dt, lvl, msg}) and its health
// ("Complete", "Incomplete", "Canceled", "" when unknown). The record has
// mode "lava" and label `label`; `expected` cases that never reported are
// INCOMPLETE; an incomplete job or a missing document is never a PASS.
// Its uid is the run document's (the guest's run), else `job_uid` (a job
// named on a server), else a new one: the same job imported twice is found.
RunRecord lava_import(const std::string& log_yaml, const std::string& health, const std::string& label,
                      const std::vector<std::string>& expected, const std::string& job_uid = "");

// The server's own results of a job (its results API: lavacli results
// --json, a list of test cases with suite, name and result) against the run
// document in the job's log: every case the guest reported must be among the
// server's test cases of a diorace suite with the same result, and the
// server must have no diorace case the document lacks. One line per
// disagreement; empty when they agree or when the log has no document.
std::vector<std::string> lava_results_disagreements(const std::string& log_yaml, const nlohmann::json& server);

}  // namespace diorace
