// SPDX-License-Identifier: GPL-2.0-or-later
// diorace config: the effective target settings (config file, environment).
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/config.hpp"
#include "diorace/error.hpp"
#include "diorace/outfile.hpp"
#include "diorace/report.hpp"
#include "diorace/store.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "store_access.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

void config_options(CommandOptions& o) {
  o.shown.add_options()("config", po::value<std::string>(), "config file (default: $DIORACE_CONFIG)")
      ("section", po::value<std::string>(), "section")
      ("get", po::value<std::string>(), "print one key: TEST_DIR TEST_DEV SCRATCH_DEV FSTYPE MKFS_OPTIONS FORCE_DEVICE KERNELS STORE");
}

}  // namespace

int cmd_config(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kConfigCommand, args);
  auto t = target_settings(opt(vm, "config"), opt(vm, "section"));
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> kv = {
      {"TEST_DIR", t.test_dir},         {"TEST_DEV", t.test_dev},   {"SCRATCH_DEV", t.scratch_dev},
      {"FSTYPE", t.fstype},             {"MKFS_OPTIONS", t.mkfs_options}, {"FORCE_DEVICE", join(t.force_device)},
      {"KERNELS", join(t.kernels)}};
  if (vm.count("get")) {
    // STORE is no key of the file (--store or $DIORACE_STORE name it), but
    // scripts ask for the effective store.
    if (vm["get"].as<std::string>() == "STORE") {
      std::cout << Store::default_uri() << "\n";
      return 0;
    }
    for (const auto& [k, v] : kv)
      if (k == vm["get"].as<std::string>()) {
        std::cout << v << "\n";
        return 0;
      }
    throw UsageError("config --get: unknown key '" + vm["get"].as<std::string>() + "'");
  }
  std::cout << "# " << (t.source.empty() ? "no config file" : t.source) << "\n";
  for (const auto& [k, v] : kv) std::cout << k << " = " << v << "\n";
  // Printed as a comment: the output stays a config file diorace accepts.
  std::cout << "# the result store (--store or $DIORACE_STORE, no key of this file): " << Store::default_uri() << "\n";
  return 0;
}

extern const Command kConfigCommand{"config", "[--config FILE] [--section S] [--get KEY]",
                                    "the effective target settings", cmd_config, config_options};

}  // namespace diorace
