// SPDX-License-Identifier: GPL-2.0-or-later
// `run`'s command line: its options (the program, the static guest binary,
// and the VM runner checking a guest command line on the host before it
// boots) and the store and report options it shares with other commands.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "diorace/cli_values.hpp"
#include "diorace/run_options.hpp"

namespace diorace {

// --store: every command that reads or writes the store declares it with this.
boost::program_options::options_description store_option();
// --junit --ktap --kcidb --jsonl --html --origin, and --store unless !with_store.
boost::program_options::options_description report_target_options(bool with_store = true);
void read_report_targets(const boost::program_options::variables_map& vm, ReportTargets& t);

// `run`'s options, as its help lists them (the cases are positional words).
boost::program_options::options_description run_options_description();
// Parses the arguments of `diorace run` (also used by the VM runner to check
// a guest command line on the host). Throws UsageError or a
// boost::program_options error; turns on fault injection when asked.
RunOptions parse_run_args(const std::vector<std::string>& args);

}  // namespace diorace
