// SPDX-License-Identifier: GPL-2.0-or-later
// diorace run: the cases on this kernel, recorded in the store and the report files.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "diorace/outfile.hpp"
#include "diorace/registry.hpp"
#include "diorace/command_line.hpp"
#include "diorace/runner.hpp"
#include "diorace/vm.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "store_access.hpp"

namespace po = boost::program_options;

namespace diorace {

int cmd_run(const std::vector<std::string>& args, const std::string& command) {
  RunOptions o = parse_run_args(args);
  o.command = command;
  auto recorder = make_run_recorder(o);
  return run_cases(o, nullptr, recorder.get());
}

extern const Command kRunCommand{"run", "[CASE...|all] [OPTIONS]", "run cases on this kernel", cmd_run,
                                 run_command_options};

}  // namespace diorace
