// SPDX-License-Identifier: GPL-2.0-or-later
// Reports from run records (what `run --json` writes and what the store
// gives back: the same record): JUnit XML, KTAP (TAP 13 as kselftest prints it), KCIDB v5
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
// Also refuses an output that is the store (o.store, or the default store),
// another output, or one of `inputs` (the config file, documents read), and
// checks `more_outputs` (--json, --console-log) with the others.
using NamedFiles = std::vector<std::pair<std::string, std::string>>;  // (option, path)
void validate_outputs(const OutputOptions& o, const NamedFiles& more_outputs = {}, const NamedFiles& inputs = {});
// Writes every requested file (atomically) for these run documents.
void write_outputs(const std::vector<RunRecord>& runs, const OutputOptions& o);

std::string to_junit(const std::vector<RunRecord>& runs);
std::string to_ktap(const std::vector<RunRecord>& runs);
nlohmann::json to_kcidb(const std::vector<RunRecord>& runs, const std::string& origin);
std::string to_jsonl(const std::vector<RunRecord>& runs);
// bisections: the store's bisection log (Store::list_bisections), shown
// with each decided kernel's failure-probability estimate.
std::string to_html(const std::vector<RunRecord>& runs, const nlohmann::json& bisections = nlohmann::json::array());

// A kernel's name in reports: the release (and the VM label when there is one).
std::string kernel_label(const RunRecord& run);
// A kernel's name as reports order it: numbers compared as numbers
// (6.1.0-47 < 6.1.0-50 < 6.1.192 < 6.12.107), a Debian package name mapped
// to its release (linux-image-6.1.0-50-cloud-amd64-unsigned -> 6.1.0-50-cloud-amd64),
// the flavour (cloud-amd64, amd64, rt-amd64; "" for a kernel of one's own)
// grouping them, and the upstream version Debian's `uname -v` names.
struct KernelName {
  std::string name, flavour, upstream;
  std::vector<long> version;  // 6.1.0-50 -> {6, 1, 0, 50}
};
KernelName parse_kernel_name(const std::string& release_or_package, const std::string& uname_version = "");
// Flavour first (alphabetical, "" last), then version, then name.
bool kernel_before(const KernelName& a, const KernelName& b);

// "name" or "name[variant]"
std::string case_key(const CaseResult& c);

// What changed from the runs of A to the runs of B, per case: fixed,
// regressed, new (only in B), gone (only in A), still failing, unchanged.
// A case's outcome over several runs is FAIL if any run failed, else PASS if
// any passed, else the first other outcome.
nlohmann::json compare_runs(const std::vector<RunRecord>& a, const std::vector<RunRecord>& b);
std::string format_comparison(const nlohmann::json& cmp, const std::string& a_name, const std::string& b_name);

}  // namespace diorace
