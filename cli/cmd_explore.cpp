// SPDX-License-Identifier: GPL-2.0-or-later
// diorace explore: random concurrent programs against the data model (the
// explore case under the runner), each finding written out as a program file.
#include <iostream>

#include <fmt/format.h>

#include "diorace/command_line.hpp"
#include "diorace/explore.hpp"
#include "diorace/runner.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace diorace {

int cmd_explore(const std::vector<std::string>& args, const std::string& command) {
  const ExploreArgs ea = parse_explore_args(args);
  RunOptions o = parse_run_args(ea.run_args);
  o.command = command;
  auto recorder = make_run_recorder(o);
  std::vector<CaseResult> results;
  const int code = run_cases(o, &results, recorder.get());
  for (const auto& path : write_finding_programs(results, ea.findings_dir))
    std::cout << fmt::format("finding: {}  (replay: diorace replay {}; minimize: diorace minimize {})\n", path, path,
                             path);
  return code;
}

namespace {

void explore_options(CommandOptions& o) { o.shown.add(explore_options_description()).add(run_options_description()); }

}  // namespace

extern const Command kExploreCommand{
    "explore", "[--duration S] [--seed N] [--actors N] [--fs FS] [--weight OP=N]... [RUN OPTIONS]",
    "random concurrent Direct-I/O programs checked against a data model; findings as program files", cmd_explore,
    explore_options, kExploreDetails};

}  // namespace diorace
