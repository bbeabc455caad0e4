// SPDX-License-Identifier: GPL-2.0-or-later
// The options `replay` and `minimize` share: a program file and how to run it.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "diorace/explore.hpp"
#include "commands.hpp"

namespace diorace {

// FILE and the options replay and minimize share.
void program_bench_options(CommandOptions& o);
// Reads the program file and the options; throws UsageError with one line.
ProgramFile read_bench_args(const boost::program_options::variables_map& vm, BenchOptions& bench, unsigned& runs,
                            std::string& signature);

}  // namespace diorace
