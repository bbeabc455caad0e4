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

#include "diorace/outcome.hpp"

namespace diorace {

struct RunOptions {
  std::vector<std::string> cases;  // names, or "all"
  std::string dir;                 // target directory
  std::optional<double> duration_s;
  std::optional<uint64_t> iterations;
  std::optional<uint64_t> seed;
  std::vector<std::pair<std::string, std::string>> params;
  bool keep_going = false;
  std::string json_path;  // "" for none; a block device is written in place
  std::optional<double> iteration_timeout_s;
  std::string kconfig_path;
  std::vector<std::string> kmsg_ignore;
  bool quiet = false;
  bool strict_kmsg = false;  // any detector report fails the case, related or not
};

struct ParsedRun {
  RunOptions options;
  bool help = false;
  std::string help_text;
};
// Parses the arguments of `diorace run` (also used by the VM runner to check
// a guest command line on the host). Throws UsageError or a
// boost::program_options error; turns on fault injection when asked.
ParsedRun parse_run_args(const std::vector<std::string>& args);

// Resolves case names ("all": every case that is not a self-test).
std::vector<const struct CaseInfo*> select_cases(const std::vector<std::string>& names);

// Validates the options (throws UsageError with one line), runs the cases,
// prints one summary line per case and returns the exit code.
int run_cases(const RunOptions& opts, std::vector<CaseResult>* results_out = nullptr);

// Identity of the running kernel and host, for reports and the store.
nlohmann::json describe_system(const std::string& kconfig_path);

// Writes the run document (complete or not) to path; atomically for regular
// files, in place followed by a NUL for block devices (the VM result disk).
void write_run_document(const std::string& path, const nlohmann::json& doc);

}  // namespace diorace
