// SPDX-License-Identifier: GPL-2.0-or-later
// diorace-static: the program inside a diorace VM guest's initramfs. It runs
// what the host planned (`guest-run`, started by the init script) and writes
// the results to the result disk; it keeps no store and writes no reports
// (the host does). Its commands are rows of the same model as the program's
// (commands.hpp): replay, minimize and lava-report are the program's own
// rows; run is the program's run without a store.
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

int run(const std::vector<std::string>& args, const std::string&) {
  const RunOptions o = parse_run_args(args);
  if ((!o.reports.store.empty() && o.reports.store != "none") || o.reports.any_file())
    throw UsageError("this static build keeps no result store and writes no reports (use --json)");
  return run_cases(o);
}

int guest_run(const std::vector<std::string>& args, const std::string&) {
  if (!args.empty()) throw UsageError("guest-run takes no arguments (the host's plan is on the plan disk)");
  auto plan = guest_prepare();
  int code;
  std::string error;
  try {
    code = plan.exec ? guest_exec(plan) : run(plan.run_args, "");
  } catch (const std::exception& e) {
    error = e.what();
    std::fprintf(stderr, "diorace: %s\n", e.what());
    code = kExitError;
  }
  guest_finish(plan, code, error);
  return code;
}

const Command kGuestRun{"guest-run", "", "run what the host planned (the init script starts it)", guest_run};
const Command kRun{"run", "[CASE...|all] [OPTIONS]", "run cases in this guest (no store, no reports: --json)", run,
                   run_command_options};
constexpr const Command* kGuestCommands[] = {&kGuestRun, &kRun, &kReplayCommand, &kMinimizeCommand,
                                             &kLavaReportCommand};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage_text(kGuestCommands, "diorace-static") << "(inside a diorace VM guest)\n";
    return args.empty() ? kExitError : 0;
  }
  if (args[0] == "--version") {
    std::cout << "diorace " << DIORACE_VERSION << " (static guest build)\n";
    return 0;
  }
  const std::string name = args[0];
  args.erase(args.begin());
  return exit_code_or_error([&] {
    const Command* c = find_command(kGuestCommands, name);
    if (!c)
      throw UsageError("diorace-static has only guest-run, run, replay, minimize and lava-report ('" + name +
                       "' is for the diorace program)");
    return dispatch(*c, args, "", "diorace-static " + name);
  });
}
