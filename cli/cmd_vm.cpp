// SPDX-License-Identifier: GPL-2.0-or-later
// diorace vm: boots a kernel under qemu and runs cases in it; the result is stored on the host.
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

int cmd_vm(const std::vector<std::string>& args, const std::string& command) {
  // Everything after "--" is the guest's command line.
  auto [host, guest] = split_at_dashes(args);
  po::options_description desc("vm options");
  desc.add_options()
      ("kernel", po::value<std::string>(), "kernel image (bzImage/vmlinuz) to boot")
      ("deb", po::value<std::string>(), "Debian kernel package to download, unpack and boot (short form)")
      ("console-log", po::value<std::string>(), "keep the guest console here (default: beside the results)")
      ("json", po::value<std::string>(), "write the guest's results (with the guest kernel's identity) here")
      ("stage", po::value<std::vector<std::string>>()->composing(), "copy this (static) program into the guest's /staged, for -- exec (benchmarks)")
      ("help,h", "help");
  desc.add(report_target_options()).add(vm_machine_options());
  auto vm = parse_options(desc, host);
  if (vm.count("help")) {
    std::cout << "usage: diorace vm --kernel IMAGE|--deb PACKAGE [OPTIONS] -- run [CASE...] [RUN OPTIONS]\n" << desc;
    return 0;
  }
  VmOptions o;
  if (vm.count("kernel")) o.kernel = vm["kernel"].as<std::string>();
  if (vm.count("deb")) o.deb = vm["deb"].as<std::string>();
  read_vm_machine_options(vm, o);
  if (vm.count("stage")) o.stage = vm["stage"].as<std::vector<std::string>>();
  if (vm.count("console-log")) o.console_log = vm["console-log"].as<std::string>();
  if (vm.count("json")) {
    o.json_path = vm["json"].as<std::string>();
    check_output_path(o.json_path, "--json");
  }
  o.guest_args = guest;
  ReportTargets out;
  read_report_targets(vm, out);
  o.command = command;
  return run_vm_recorded(o, out);
}

}  // namespace diorace
