// SPDX-License-Identifier: GPL-2.0-or-later
// The program's command model. A command is one file (cli/cmd_NAME.cpp)
// that defines its row: name, synopsis, summary, options and the function
// that runs it. The table of commands.cpp lists the rows (the guest binary's
// table, in guest_main.cpp, lists the rows it has); everything else is
// generated from the rows: dispatch, `--help` and `diorace help CMD`, the
// usage text, the man page, the bash completion and the README's usage
// block (ci/usage-block checks it). A command with subcommands (`results`)
// lists rows of the same shape.
#pragma once
#include <span>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace diorace {

// args: the command's own arguments; command: the whole command line, kept
// with stored runs. Returns the exit code; throws UsageError (exit 2).
using CommandFn = int (*)(const std::vector<std::string>& args, const std::string& command);

// A command's options, declared once: its help, the man page, the
// completion and its parsing all read them.
struct CommandOptions {
  boost::program_options::options_description shown;
  // Positional words (CASE, FILE, RUN): parsed, not listed as options.
  boost::program_options::options_description words;
  boost::program_options::positional_options_description pos;
};
using OptionsFn = void (*)(CommandOptions&);

struct Command {
  const char* name;
  const char* synopsis;  // after "diorace NAME"
  const char* summary;   // one line
  CommandFn run;
  OptionsFn options = nullptr;  // nullptr: the synopsis's words only
  const char* details = "";     // more help text, printed before the options
  std::span<const Command* const> subcommands = {};
};

using CommandTable = std::span<const Command* const>;

// The program's table (commands.cpp).
CommandTable commands();
const Command* find_command(CommandTable table, const std::string& name);

// "usage: PROGRAM COMMAND ..." with every row of the table.
std::string usage_text(CommandTable table, const std::string& program = "diorace");
// The command's help: usage line (path: "diorace results show"), summary,
// details, options, subcommands.
std::string command_help(const Command& c, const std::string& path);
// Its long options (--name), in order; for a command with subcommands,
// theirs too.
std::vector<std::string> command_options(const Command& c);
// `--help` or `-h` among the arguments before the first "--".
bool wants_help(const std::vector<std::string>& args);
// Runs the row: its help when asked, a subcommand's row for a command with
// subcommands, else its function.
int dispatch(const Command& c, const std::vector<std::string>& args, const std::string& command_line,
             const std::string& path);
// The arguments parsed with the row's options (strict numbers, no empty values).
boost::program_options::variables_map parse_command(const Command& c, const std::vector<std::string>& args);

// `run`'s options: the program's run and the guest binary's.
void run_command_options(CommandOptions& o);

// The rows, each defined in its command's file.
extern const Command kListCommand, kDescribeCommand, kRunCommand, kVmCommand, kFetchKernelCommand, kResultsCommand,
    kReportCommand, kConfigCommand, kCleanupCommand, kBisectCommand, kBisectStepCommand, kExploreCommand,
    kReplayCommand, kMinimizeCommand, kProveCommand, kLavaJobCommand, kLavaReportCommand, kManpageCommand,
    kCompletionCommand, kHelpCommand;

}  // namespace diorace
