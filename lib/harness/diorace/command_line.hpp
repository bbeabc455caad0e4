// SPDX-License-Identifier: GPL-2.0-or-later
// The command-line front end: the option groups several commands share,
// declared once (`run`'s own options are in run_args.hpp, below the VM
// runner, which checks a guest command with them). The library's API takes
// typed options (RunOptions, VmOptions); only these headers and
// cli_values.hpp know boost::program_options.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "diorace/cli_values.hpp"
#include "diorace/run_args.hpp"
#include "diorace/vm.hpp"

namespace diorace {

// The machine options shared by `vm`, `bisect` and `bisect-step`: --modules,
// --kconfig, --cpus, --mem, --accel, --fs, --disk-size, --throttle-bps,
// --timeout, --append.
boost::program_options::options_description vm_machine_options();
void read_vm_machine_options(const boost::program_options::variables_map& vm, VmOptions& o);
// The machine options of o as `diorace vm` arguments (read back, they give o's
// machine part): how a command hands its machine to `diorace vm` children.
std::vector<std::string> vm_machine_args(const VmOptions& o);
}  // namespace diorace
