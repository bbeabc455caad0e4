// SPDX-License-Identifier: GPL-2.0-or-later
// diorace vm: boots a kernel under qemu and runs cases in it; the result is stored on the host.
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/distro.hpp"
#include "diorace/error.hpp"
#include "diorace/explore.hpp"
#include "diorace/fd.hpp"
#include "diorace/tempdir.hpp"
#include "diorace/outcome.hpp"
#include "diorace/outfile.hpp"
#include "diorace/process.hpp"
#include "diorace/registry.hpp"
#include "diorace/run_args.hpp"
#include "diorace/runner.hpp"
#include "diorace/vm.hpp"
#include "commands.hpp"
#include "explore_boots.hpp"
#include "options.hpp"
#include "store_access.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

void vm_options(CommandOptions& o) {
  o.shown.add_options()
      ("kernel", po::value<std::string>(), "kernel image (bzImage/vmlinuz) to boot")
      ("deb", po::value<std::string>(), "Debian kernel package to download, unpack and boot (short form)")
      ("console-log", po::value<std::string>(), "keep the guest console here (default: beside the results)")
      ("json", po::value<std::string>(), "write the guest's results (with the guest kernel's identity) here")
      ("stage", po::value<std::vector<std::string>>()->composing(), "copy this (static) program into the guest's /staged, for -- exec (benchmarks)")
      ("boots", po::value<Count>(), "-- explore only: boot the kernel N times, each with its own seed (the explore --seed, then +1, +2, ...); a summary of findings over the boots")
      ("jobs", po::value<Count>(), "-- explore only: at most N of those boots at once (default 1)");
  o.shown.add(report_target_options()).add(vm_machine_options());
}

// --boots N --jobs M -- explore ARGS: one `diorace vm -- explore` child per
// boot, each with its own seed.
int explore_boots(const po::variables_map& vm, const std::vector<std::string>& host,
                  const std::vector<std::string>& guest) {
  ExploreBootsOptions eb;
  eb.boots = vm.count("boots") ? vm["boots"].as<Count>().value : 1;
  eb.jobs = vm.count("jobs") ? vm["jobs"].as<Count>().value : 1;
  if (eb.boots < 1 || eb.boots > 1000) throw UsageError("--boots must be 1..1000");
  eb.cpus = static_cast<unsigned>(std::min<uint64_t>(vm["cpus"].as<Count>().value, 4096));
  // Bad explore options: one line, exit 2, before any boot.
  (void)parse_run_args(parse_explore_args({guest.begin() + 1, guest.end()}).run_args);
  eb.seed = std::random_device{}() & 0xffffff;
  for (size_t i = 1; i < guest.size(); ++i) {
    if (guest[i] == "--seed" && i + 1 < guest.size()) {
      eb.seed = std::stoull(guest[++i]);
      continue;
    }
    eb.explore_args.push_back(guest[i]);
  }
  // The host's options less the ones each boot gets its own of.
  for (size_t i = 0; i < host.size(); ++i) {
    const std::string& a = host[i];
    const bool valued = a == "--boots" || a == "--jobs" || a == "--json" || a == "--console-log";
    if (valued) {
      ++i;
      continue;
    }
    if (a.rfind("--boots=", 0) == 0 || a.rfind("--jobs=", 0) == 0 || a.rfind("--json=", 0) == 0 ||
        a.rfind("--console-log=", 0) == 0)
      continue;
    eb.host_args.push_back(a);
  }
  return run_explore_boots(eb);
}

}  // namespace

int cmd_vm(const std::vector<std::string>& args, const std::string& command) {
  // SIGINT/SIGTERM/SIGHUP: qemu is killed and the work directory removed
  // (exit 2), instead of leaving them to the next run's stale clean-up.
  stop_on_signals();
  // Everything after "--" is the guest's command line.
  auto [host, guest] = split_at_dashes(args);
  auto vm = parse_command(kVmCommand, host);
  // "-- run --help", "-- explore --help": that command's options, as the guest takes them.
  if (!guest.empty() && wants_help({guest.begin() + 1, guest.end()}))
    if (const Command* g = find_command(commands(), guest[0]); g && (g == &kRunCommand || g == &kExploreCommand)) {
      std::cout << command_help(*g, "diorace vm [OPTIONS] -- " + guest[0]);
      return 0;
    }
  VmOptions o;
  if (vm.count("kernel")) o.kernel = vm["kernel"].as<std::string>();
  // A series (debian:6.12-amd64) names its newest package, resolved once here.
  if (vm.count("deb")) o.deb = resolve_kernel_name(vm["deb"].as<std::string>());
  read_vm_machine_options(vm, o);
  if (vm.count("stage")) o.stage = vm["stage"].as<std::vector<std::string>>();
  if (vm.count("console-log")) o.console_log = vm["console-log"].as<std::string>();
  if (vm.count("json")) {
    o.json_path = vm["json"].as<std::string>();
    check_output_path(o.json_path, "--json");
  }
  if (vm.count("boots") || vm.count("jobs")) {
    if (guest.empty() || guest[0] != "explore")
      throw UsageError("--boots and --jobs are for -- explore (diorace prove boots cases)");
    return explore_boots(vm, host, guest);
  }
  // "-- explore ARGS": the explorer's case in the guest, its findings written here.
  std::optional<ExploreArgs> explore;
  if (!guest.empty() && guest[0] == "explore") {
    explore = parse_explore_args({guest.begin() + 1, guest.end()});
    guest = {"run"};
    guest.insert(guest.end(), explore->run_args.begin(), explore->run_args.end());
  }
  o.guest_args = guest;
  ReportTargets out;
  read_report_targets(vm, out);
  o.command = command;
  OwnedTempDir tmp;
  if (explore && o.json_path.empty()) {
    tmp = OwnedTempDir::create("/var/tmp", "diorace-explore-");
    o.json_path = tmp.path() + "/guest.json";
  }
  const int code = run_vm_recorded(o, out);
  if (explore) {
    std::string text;
    if (try_read_file(o.json_path, text)) {
      const auto doc = nlohmann::json::parse(text, nullptr, false);
      if (!doc.is_discarded() && doc.contains("cases"))
        for (const auto& path : write_finding_programs(doc["cases"].get<std::vector<CaseResult>>(), explore->findings_dir))
          std::cout << "finding: " << path << "  (replay: diorace replay " << path << ")\n";
    }
  }
  return code;
}

extern const Command kVmCommand{
    "vm", "--kernel IMAGE|--deb PKG [OPTIONS] -- run|explore|exec ARGS...",
    "boot a kernel under qemu and run cases (or the explorer) in it", cmd_vm, vm_options,
    "  diorace vm --kernel IMAGE|--deb PACKAGE [OPTIONS] -- run [CASE...] [RUN OPTIONS]\n"
    "  diorace vm --kernel IMAGE|--deb PACKAGE [OPTIONS] -- explore [EXPLORE OPTIONS]   (findings come back here)\n"
    "  diorace vm --kernel IMAGE|--deb PACKAGE --boots N [--jobs M] [OPTIONS] -- explore [EXPLORE OPTIONS]\n"
    "      (N boots, M at once, seeds --seed, +1, ...: which findings showed in how many boots, how soon)\n"
    "  diorace vm --kernel IMAGE|--deb PACKAGE [--stage FILE] [OPTIONS] -- exec [--detect RE] [--limit S] -- PROGRAM ARGS...\n"
    "      (a reference program or /diorace replay|minimize /staged/FILE, with its output and exit code)\n"};

}  // namespace diorace
