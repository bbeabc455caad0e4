// SPDX-License-Identifier: GPL-2.0-or-later
// Option parsing shared by the program's commands: every command parses
// with parse_options (strict numbers, no empty values), and option groups
// that several commands take are declared once here or in the library
// (report_target_options, vm_machine_options).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "diorace/command_line.hpp"

namespace diorace {

inline boost::program_options::variables_map parse_options(
    const boost::program_options::options_description& desc, const std::vector<std::string>& args,
    const boost::program_options::positional_options_description* pos = nullptr) {
  namespace po = boost::program_options;
  po::variables_map vm;
  auto parser = po::command_line_parser(args).options(desc);
  if (pos) parser.positional(*pos);
  po::store(parser.run(), vm);
  po::notify(vm);
  reject_empty_values(vm, desc);
  return vm;
}

// A command line split at its first "--": the command's own options, and
// what it hands on (a guest's command line, the cases and their options).
struct SplitArgs {
  std::vector<std::string> own, after;
};
inline SplitArgs split_at_dashes(const std::vector<std::string>& args) {
  auto dash = std::find(args.begin(), args.end(), "--");
  return {{args.begin(), dash}, {dash == args.end() ? dash : dash + 1, args.end()}};
}

// A string option's value, or def when it was not given.
inline std::string opt(const boost::program_options::variables_map& vm, const char* key, std::string def = "") {
  return vm.count(key) ? vm[key].as<std::string>() : def;
}

}  // namespace diorace
