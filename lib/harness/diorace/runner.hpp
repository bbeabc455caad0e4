// SPDX-License-Identifier: GPL-2.0-or-later
// The runner: each case runs in its own process group, supervised by the
// diorace process, which owns the oracles (hang deadline, kernel log, taint,
// detector awareness), the progress line, SIGINT handling and the JSON report.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/record.hpp"
#include "diorace/run_options.hpp"

namespace diorace {

// Told about a run as it happens (the result store, report writers).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  // The run before any case (identity, target, seed).
  virtual void run_started(const RunRecord& record) { (void)record; }
  // Before a case's process starts; returns nothing, may throw to abort the run.
  virtual void case_started(const std::string& name, const std::string& variant, const nlohmann::json& params,
                            uint64_t seed) {
    (void)name, (void)variant, (void)params, (void)seed;
  }
  virtual void case_finished(const CaseResult& r) { (void)r; }
  // The complete run (its exit code in record.exit_code).
  virtual void run_finished(const RunRecord& record) { (void)record; }
  // What went wrong recording the run (said once already), or "": the run
  // then exits 2 unless a case failed.
  virtual std::string error() const { return ""; }
};

// Resolves case names ("all": every case that is not a self-test).
std::vector<const struct CaseInfo*> select_cases(const std::vector<std::string>& names);

// Checks cases, parameters and options as `run` does before it starts
// (throws UsageError with one line); returns the selected cases.
std::vector<const struct CaseInfo*> validate_run_options(const RunOptions& opts,
                                                         std::vector<class ParamValues>* values = nullptr);

// Validates the options (throws UsageError with one line), runs the cases,
// prints one summary line per case and returns the exit code.
int run_cases(const RunOptions& opts, std::vector<CaseResult>* results_out = nullptr, RunObserver* observer = nullptr);

// "2026-11-22T01:02:03.456Z" (UTC, milliseconds)
std::string utc_timestamp();

// Identity of the running kernel and host, for reports and the store.
SystemIdentity describe_system(const std::string& kconfig_path);

// Writes the run document (complete or not) to path; atomically for regular
// files, in place followed by a NUL for block devices (the VM result disk).
void write_run_document(const std::string& path, const RunRecord& record);

}  // namespace diorace
