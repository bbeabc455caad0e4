// SPDX-License-Identifier: GPL-2.0-or-later
// The command-line front end: `run`'s options (the program, the static
// guest binary, and the VM runner checking a guest command on the host) and
// the option groups several commands share, declared once. The library's
// API takes typed options (RunOptions, VmOptions); only this header and
// cli_values.hpp know boost::program_options.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "diorace/cli_values.hpp"
#include "diorace/runner.hpp"
#include "diorace/vm.hpp"

namespace diorace {

// --store: every command that reads or writes the store declares it with this.
boost::program_options::options_description store_option();
// --junit --ktap --kcidb --jsonl --html --origin, and --store unless !with_store.
boost::program_options::options_description report_target_options(bool with_store = true);
void read_report_targets(const boost::program_options::variables_map& vm, ReportTargets& t);

struct ParsedRun {
  RunOptions options;
  bool help = false;
  std::string help_text;
};
// Parses the arguments of `diorace run` (also used by the VM runner to check
// a guest command line on the host). Throws UsageError or a
// boost::program_options error; turns on fault injection when asked.
ParsedRun parse_run_args(const std::vector<std::string>& args);

// The machine options shared by `vm`, `bisect` and `bisect-step`: --modules,
// --kconfig, --cpus, --mem, --accel, --fs, --disk-size, --throttle-bps,
// --timeout, --append.
boost::program_options::options_description vm_machine_options();
void read_vm_machine_options(const boost::program_options::variables_map& vm, VmOptions& o);
// The machine options of o as `diorace vm` arguments (read back, they give o's
// machine part): how a command hands its machine to `diorace vm` children.
std::vector<std::string> vm_machine_args(const VmOptions& o);
}  // namespace diorace
