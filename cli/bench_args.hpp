// SPDX-License-Identifier: GPL-2.0-or-later
// The options `replay` and `minimize` share: a program file and how to run it.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "diorace/explore.hpp"

namespace diorace {

boost::program_options::options_description program_bench_options();
// Parses FILE and the options of desc (program_bench_options() and more).
boost::program_options::variables_map parse_bench_command(const std::vector<std::string>& args,
                                                          const boost::program_options::options_description& desc);
// Reads the program file and the options; throws UsageError with one line.
ProgramFile read_bench_args(const boost::program_options::variables_map& vm, BenchOptions& bench, unsigned& runs,
                            std::string& signature);

}  // namespace diorace
