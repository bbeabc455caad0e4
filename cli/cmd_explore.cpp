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
  if (ea.help) {
    std::cout << ea.help_text;
    return 0;
  }
  auto parsed = parse_run_args(ea.run_args);
  if (parsed.help) {
    std::cout << ea.help_text;
    return 0;
  }
  parsed.options.command = command;
  auto recorder = make_run_recorder(parsed.options);
  std::vector<CaseResult> results;
  const int code = run_cases(parsed.options, &results, recorder.get());
  for (const auto& path : write_finding_programs(results, ea.findings_dir))
    std::cout << fmt::format("finding: {}  (replay: diorace replay {}; minimize: diorace minimize {})\n", path, path,
                             path);
  return code;
}

}  // namespace diorace
