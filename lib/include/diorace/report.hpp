// Reports from run documents (what `run --json` writes and what the store
// gives back): JUnit XML, KTAP (TAP 13 as kselftest prints it), KCIDB v5
// JSON, JSON lines, a self-contained HTML page, and comparisons between two
// kernels or two nights.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/runner.hpp"

namespace diorace {

// The report files to write (the store field is not theirs to use).
using OutputOptions = ReportTargets;
// Throws UsageError for a bad origin.
void validate_outputs(const OutputOptions& o);
// Writes every requested file (atomically) for these run documents.
void write_outputs(const std::vector<nlohmann::json>& runs, const OutputOptions& o);

std::string to_junit(const std::vector<nlohmann::json>& runs);
std::string to_ktap(const std::vector<nlohmann::json>& runs);
nlohmann::json to_kcidb(const std::vector<nlohmann::json>& runs, const std::string& origin);
std::string to_jsonl(const std::vector<nlohmann::json>& runs);
std::string to_html(const std::vector<nlohmann::json>& runs);

// A kernel's name in reports: the release (and the VM label when there is one).
std::string kernel_label(const nlohmann::json& run);
// "name" or "name[variant]"
std::string case_key(const nlohmann::json& c);

// What changed from the runs of A to the runs of B, per case: fixed,
// regressed, new (only in B), gone (only in A), still failing, unchanged.
// A case's outcome over several runs is FAIL if any run failed, else PASS if
// any passed, else the first other outcome.
nlohmann::json compare_runs(const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b);
std::string format_comparison(const nlohmann::json& cmp, const std::string& a_name, const std::string& b_name);

}  // namespace diorace
