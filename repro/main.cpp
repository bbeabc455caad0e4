// diorace: the command-line program. Subcommands:
//   list [--json]            the cases and their declared metadata
//   describe CASE            one case in full
//   run [CASE...|all] ...    run cases on this kernel
//   vm --kernel IMAGE ... -- run ...   run cases in a VM booting another kernel
//   fetch-kernel PACKAGE     download and unpack a Debian kernel package
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "diorace/outfile.hpp"
#include "diorace/registry.hpp"
#include "diorace/runner.hpp"
#include "diorace/vm.hpp"
#include "cli_util.hpp"
#ifdef DIORACE_WITH_RESULTS
#include "prove_cmd.hpp"
#include "results_cmd.hpp"
#endif

namespace po = boost::program_options;
using namespace diorace;

namespace {

std::string g_command;  // the whole command line, kept with stored runs

const char* kUsage =
    "usage: diorace COMMAND [OPTIONS]\n"
    "commands:\n"
    "  list [--json]                       list the cases\n"
    "  describe CASE                       show a case's metadata and parameters\n"
    "  run [CASE...|all] [OPTIONS]         run cases on this kernel ('run --help')\n"
    "  vm --kernel IMAGE|--deb PKG [OPTIONS] -- run ARGS...\n"
    "                                      boot a kernel under qemu and run cases in it ('vm --help')\n"
    "  fetch-kernel PACKAGE                download and unpack a Debian kernel package into the cache\n"
    "  results list|show|compare|export|delete   the result store ('results --help')\n"
    "  report --html FILE [RUN...]         a self-contained HTML report from the store\n"
    "  config [--config F] [--section S] [--get KEY]   the effective target settings\n"
    "  bisect --case CASE --kernels K1 .. Kn   flake-aware bisection over kernels in VMs ('bisect --help')\n"
    "  bisect-step --case CASE --kernel K ...  one `git bisect run` step (0 good, 1 bad, 125 skip)\n"
    "  prove [CASE...] [--boots N] [--jobs N]  boot each case's declared controls and check them ('prove --help')\n"
    "exit codes: 0 clean, 1 a case failed (kernel bug evidence), 2 usage/set-up/harness error,\n"
    "            3 vm: guest never reached the test, 4 every case skipped\n";


int cmd_list(const std::vector<std::string>& args) {
  po::options_description desc("list options");
  desc.add_options()("json", "print JSON")("all", "include harness self-test cases")("help,h", "help");
  for (const auto& a : args)
    if (a.empty() || a[0] != '-')
      throw UsageError("list takes no argument '" + a + "' ('diorace describe CASE' shows one case)");
  auto vm = parse_options(desc, args);
  if (vm.count("help")) {
    std::cout << "usage: diorace list [--json] [--all]\n" << desc;
    return 0;
  }
  const auto& cases = Registry::instance().cases();
  if (vm.count("json")) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& c : cases)
      if (!c.test_only || vm.count("all")) j.push_back(c);
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const auto& c : cases)
    if (!c.test_only || vm.count("all")) std::cout << fmt::format("{:<18} {}\n", c.name, c.summary);
  return 0;
}

int cmd_describe(const std::vector<std::string>& args) {
  if (args.size() != 1) throw UsageError("describe takes exactly one case name");
  const CaseInfo* c = Registry::instance().find(args[0]);
  if (!c) throw UsageError("unknown case '" + args[0] + "' ('diorace list' shows the cases)");
  std::cout << c->name << ": " << c->summary << "\n\n";
  std::cout << "races:      " << c->races << "\n";
  std::cout << "seed:       " << c->seed_thread << "\n";
  for (const auto& f : c->fixed_by) std::cout << "fixed by:   " << f.hash << " (\"" << f.subject << "\")\n";
  for (const auto& k : c->known_bad) std::cout << "known bad:  " << k << "\n";
  std::string needs, oracles, detectors;
  for (const auto& n : need_names(c->needs)) needs += n + " ";
  for (const auto& o : c->oracles) oracles += o + " ";
  for (const auto& d : c->detectors) detectors += d + " ";
  std::cout << "needs:      " << (needs.empty() ? "-" : needs) << "\n";
  std::cout << "oracles:    " << oracles << "\n";
  std::cout << "detectors:  " << (detectors.empty() ? "none (the data oracle decides)" : detectors) << "\n";
  std::cout << fmt::format("deadline:   {:.0f} s per iteration (hang oracle)\n", c->iteration_timeout_s);
  std::cout << fmt::format("duration:   {:.0f} s by default\n", c->default_duration_s);
  for (const auto& sig : c->own_signatures) std::cout << "own race:   /" << sig << "/\n";
  for (const auto& p : c->probes) std::cout << "coverage:   kprobe " << p.symbol << " (" << p.meaning << ")\n";
  if (c->vm_device_bps) std::cout << fmt::format("device:     {} bytes/s in the VM unless --throttle-bps\n", c->vm_device_bps);
  if (!c->variants.empty()) {
    std::string v;
    for (const auto& x : c->variants) v += x + " ";
    std::cout << "variants:   " << v << "(each reported separately)\n";
  }
  std::cout << "parameters:\n";
  for (const auto& p : c->params) {
    std::string range;
    if (p.is_choice()) {
      for (const auto& ch : p.choices) range += (range.empty() ? "" : "|") + ch;
    } else {
      range = fmt::format("{}..{}", p.min, p.max);
    }
    std::cout << fmt::format("  {:<22} default {:<8} [{}]  {}\n", p.name, p.default_text(), range, p.help);
  }
  return 0;
}

int cmd_run(const std::vector<std::string>& args) {
  auto parsed = parse_run_args(args);
  if (parsed.help) {
    std::cout << parsed.help_text;
    return 0;
  }
#ifdef DIORACE_WITH_RESULTS
  auto recorder = make_run_recorder(parsed.options, g_command);
  return run_cases(parsed.options, nullptr, recorder.get());
#else
  const auto& o = parsed.options;
  if ((!o.reports.store.empty() && o.reports.store != "none") || o.reports.any_file())
    throw UsageError("this static build keeps no result store and writes no reports (use --json)");
  return run_cases(o);
#endif
}

int cmd_vm(const std::vector<std::string>& args) {
  // Everything after "--" is the guest's command line.
  std::vector<std::string> host, guest;
  bool sep = false;
  for (const auto& a : args) {
    if (!sep && a == "--") {
      sep = true;
      continue;
    }
    (sep ? guest : host).push_back(a);
  }
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
#ifdef DIORACE_WITH_RESULTS
  ReportTargets out;
  read_report_targets(vm, out);
  return run_vm_recorded(o, out, g_command);
#else
  return run_vm(o);
#endif
}

int cmd_fetch_kernel(const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0] == "--help" || args[0] == "-h")
    throw UsageError("usage: diorace fetch-kernel PACKAGE (e.g. linux-image-6.1.0-50-cloud-amd64-unsigned)");
  auto k = fetch_debian_kernel(args[0]);
  std::cout << "kernel:  " << k.image << "\nmodules: " << k.modules << "\nconfig:  " << k.config << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? kExitError : 0;
  }
  if (args[0] == "--version") {
    std::cout << "diorace " << DIORACE_VERSION << "\n";
    return 0;
  }
  for (int i = 0; i < argc; ++i) g_command += (i ? " " : "") + std::string(argv[i]);
  std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "list") return cmd_list(args);
    if (cmd == "describe") return cmd_describe(args);
    if (cmd == "run") return cmd_run(args);
    if (cmd == "vm") return cmd_vm(args);
    if (cmd == "fetch-kernel") return cmd_fetch_kernel(args);
#ifdef DIORACE_WITH_RESULTS
    if (cmd == "results") return cmd_results(args);
    if (cmd == "report") return cmd_report(args);
    if (cmd == "config") return cmd_config(args);
    if (cmd == "bisect") return cmd_bisect(args, g_command);
    if (cmd == "bisect-step") return cmd_bisect_step(args, g_command);
    if (cmd == "prove") return cmd_prove(args, g_command);
#else
    if (cmd == "results" || cmd == "report" || cmd == "bisect" || cmd == "bisect-step" || cmd == "prove")
      throw UsageError("this static build keeps no result store");
#endif
    if (cmd == "guest-run") {
      // Inside a diorace VM guest, started by the initramfs init.
      auto plan = guest_prepare();
      int code;
      std::string error;
      try {
        code = plan.exec ? guest_exec(plan) : cmd_run(plan.run_args);
      } catch (const std::exception& e) {
        error = e.what();
        std::fprintf(stderr, "diorace: %s\n", e.what());
        code = kExitError;
      }
      guest_finish(plan, code, error);
      return code;
    }
    throw UsageError("unknown command '" + cmd + "' (try 'diorace --help')");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "diorace: %s\n", e.what());
    return kExitError;
  } catch (const po::error& e) {
    std::fprintf(stderr, "diorace: %s\n", e.what());
    return kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diorace: error: %s\n", e.what());
    return kExitError;
  }
}
