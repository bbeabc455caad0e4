// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers that diorace bisect and diorace bisect-step share: the case
// options and the guest command line they build, and the verdict of a run.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/bisect.hpp"
#include "diorace/command_line.hpp"
#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "diorace/runner.hpp"

namespace diorace {


// What one run of the case on one kernel says, from `diorace vm`'s exit code.
inline RunVerdict verdict_of(int code) {
  if (code == kExitFailed) return RunVerdict::fail;  // corruption, splat, taint, hang, crash: evidence
  if (code == kExitClean) return RunVerdict::clean;
  return RunVerdict::untestable;  // usage/set-up error, no boot, all skipped
}

inline const char* name_of(RunVerdict v) {
  return v == RunVerdict::fail ? "fail" : v == RunVerdict::clean ? "clean" : "untestable";
}

// The case options both commands share.
inline boost::program_options::options_description case_options() {
  namespace po = boost::program_options;
  po::options_description d("case options");
  d.add_options()
      ("case", po::value<std::string>(), "the case to run (required)")
      ("param", po::value<std::vector<std::string>>()->composing(), "NAME=VALUE for the case (repeatable)")
      ("duration", po::value<Real>()->default_value(Real{10}), "seconds the case runs per boot")
      ("confidence", po::value<Real>()->default_value(Real{0.95}), "confidence the answer must hold");
  d.add(store_option());
  return d;
}

inline std::vector<std::string> guest_args(const boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  if (!vm.count("case")) throw UsageError("--case is required");
  std::vector<std::string> g = {"run", vm["case"].as<std::string>(), "--duration",
                                fmt::format("{}", vm["duration"].as<Real>().value)};
  if (vm.count("param"))
    for (const auto& p : vm["param"].as<std::vector<std::string>>()) g.insert(g.end(), {"--param", p});
  // Checked here as `run` would, so that a typo fails before any boot.
  validate_run_options(parse_run_args(std::vector<std::string>(g.begin() + 1, g.end())));
  double c = vm["confidence"].as<Real>().value;
  if (!(c > 0 && c < 1)) throw UsageError("--confidence must be between 0 and 1 (e.g. 0.95)");
  return g;
}


}  // namespace diorace
