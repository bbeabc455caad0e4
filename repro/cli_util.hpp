// Option parsing shared by the program's commands.
#pragma once
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "diorace/cli_values.hpp"

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

}  // namespace diorace
