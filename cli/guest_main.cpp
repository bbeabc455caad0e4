// SPDX-License-Identifier: GPL-2.0-or-later
// diorace-static: the program inside a diorace VM guest's initramfs. It runs
// what the host planned (`guest-run`, started by the init script) and writes
// the results to the result disk; it keeps no store and writes no reports
// (the host does), so it has only `run` and `guest-run`.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "diorace/runner.hpp"
#include "diorace/command_line.hpp"
#include "diorace/guest.hpp"
#include "diorace/lava.hpp"
#include "diorace/vm.hpp"
#include "commands.hpp"
#include "exit_on_error.hpp"

using namespace diorace;

namespace {

int run(const std::vector<std::string>& args) {
  auto parsed = parse_run_args(args);
  if (parsed.help) {
    std::cout << parsed.help_text;
    return 0;
  }
  const auto& o = parsed.options;
  if ((!o.reports.store.empty() && o.reports.store != "none") || o.reports.any_file())
    throw UsageError("this static build keeps no result store and writes no reports (use --json)");
  return run_cases(o);
}

int guest_run() {
  auto plan = guest_prepare();
  int code;
  std::string error;
  try {
    code = plan.exec ? guest_exec(plan) : run(plan.run_args);
  } catch (const std::exception& e) {
    error = e.what();
    std::fprintf(stderr, "diorace: %s\n", e.what());
    code = kExitError;
  }
  guest_finish(plan, code, error);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cout << "usage: diorace-static guest-run | run [CASE...] [OPTIONS] | replay FILE | minimize FILE  (inside a diorace VM guest)\n";
    return kExitError;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  return exit_code_or_error([&] {
    if (name == "guest-run") return guest_run();
    if (name == "run") return run(args);
    // A finding's program again, or minimized, on the guest's kernel (vm --stage FILE -- exec -- /diorace ...).
    if (name == "replay") return cmd_replay(args, "");
    if (name == "minimize") return cmd_minimize(args, "");
    if (name == "lava-report") {
      if (args.size() != 2 || args[0] != "--document") throw UsageError("usage: diorace lava-report --document FILE");
      return lava_report_document(args[1]);
    }
    if (name == "--version") {
      std::cout << "diorace " << DIORACE_VERSION << " (static guest build)\n";
      return 0;
    }
    throw UsageError("diorace-static has only guest-run, run, replay, minimize and lava-report ('" + name +
                     "' is for the diorace program)");
  });
}
