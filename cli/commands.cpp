// SPDX-License-Identifier: GPL-2.0-or-later
// The program's table of commands, and `diorace help`.
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "diorace/error.hpp"

namespace diorace {

namespace {

// The one list of the program's commands, in the order usage shows them.
constexpr const Command* kCommands[] = {
    &kListCommand,    &kDescribeCommand,   &kRunCommand,      &kVmCommand,        &kExploreCommand,
    &kReplayCommand,  &kMinimizeCommand,   &kFetchKernelCommand, &kResultsCommand, &kReportCommand,
    &kConfigCommand,  &kCleanupCommand,    &kBisectCommand,   &kBisectStepCommand, &kProveCommand,
    &kLavaJobCommand, &kLavaReportCommand, &kManpageCommand,  &kCompletionCommand, &kHelpCommand,
};

int cmd_help(const std::vector<std::string>& args, const std::string&) {
  if (args.empty()) {
    std::cout << usage_text(commands());
    return 0;
  }
  const Command* c = find_command(commands(), args[0]);
  if (!c) throw UsageError("help: unknown command '" + args[0] + "' ('diorace help' lists them)");
  std::string path = std::string("diorace ") + c->name;
  for (size_t i = 1; i < args.size(); ++i) {
    const Command* sub = find_command(c->subcommands, args[i]);
    if (!sub) throw UsageError(fmt::format("help: '{}' has no subcommand '{}'", path, args[i]));
    c = sub;
    path += std::string(" ") + sub->name;
  }
  std::cout << command_help(*c, path);
  return 0;
}

}  // namespace

CommandTable commands() { return kCommands; }

extern const Command kHelpCommand{"help", "[COMMAND [SUBCOMMAND]]", "this list, or a command's options", cmd_help};

}  // namespace diorace
