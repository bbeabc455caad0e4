// SPDX-License-Identifier: GPL-2.0-or-later
// diorace list: the cases and their declared metadata.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "diorace/outfile.hpp"
#include "diorace/registry.hpp"
#include "diorace/runner.hpp"
#include "diorace/vm.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "store_access.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

void list_options(CommandOptions& o) {
  o.shown.add_options()("json", "print JSON")("names", "print the case names only, one per line")(
      "all", "include harness self-test cases and open findings");
}

}  // namespace

int cmd_list(const std::vector<std::string>& args, const std::string&) {
  for (const auto& a : args)
    if (a.empty() || a[0] != '-')
      throw UsageError("list takes no argument '" + a + "' ('diorace describe CASE' shows one case)");
  auto vm = parse_command(kListCommand, args);
  const auto& cases = Registry::instance().cases();
  if (vm.count("json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : cases)
      if (!c.hidden() || vm.count("all")) j.push_back(c);
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const auto& c : cases)
    if (!c.hidden() || vm.count("all"))
      std::cout << (vm.count("names") ? c.name + "\n" : fmt::format("{:<18} {}\n", c.name, c.summary));
  return 0;
}

extern const Command kListCommand{"list", "[--json|--names] [--all]", "the cases and their declared metadata", cmd_list,
                                  list_options};

}  // namespace diorace
