// SPDX-License-Identifier: GPL-2.0-or-later
// The program's commands: one file each (cli/cmd_NAME.cpp), one row each in
// the table of commands.cpp, which is the dispatch and the usage text both.
// Adding a command is one file and one row.
#pragma once
#include <span>
#include <string>
#include <vector>

namespace diorace {

// args: the command's own arguments; command: the whole command line, kept
// with stored runs. Returns the exit code; throws UsageError (exit 2).
using CommandFn = int (*)(const std::vector<std::string>& args, const std::string& command);

struct Command {
  const char* name;
  const char* synopsis;  // after "diorace NAME"
  const char* summary;   // one line
  CommandFn run;
};

std::span<const Command> commands();
const Command* find_command(const std::string& name);
// "usage: diorace COMMAND ..." with every command of the table.
std::string usage_text();

int cmd_list(const std::vector<std::string>& args, const std::string& command);
int cmd_describe(const std::vector<std::string>& args, const std::string& command);
int cmd_run(const std::vector<std::string>& args, const std::string& command);
int cmd_vm(const std::vector<std::string>& args, const std::string& command);
int cmd_fetch_kernel(const std::vector<std::string>& args, const std::string& command);
int cmd_results(const std::vector<std::string>& args, const std::string& command);
int cmd_report(const std::vector<std::string>& args, const std::string& command);
int cmd_cleanup(const std::vector<std::string>& args, const std::string& command);
int cmd_config(const std::vector<std::string>& args, const std::string& command);
int cmd_bisect(const std::vector<std::string>& args, const std::string& command);
int cmd_bisect_step(const std::vector<std::string>& args, const std::string& command);
int cmd_prove(const std::vector<std::string>& args, const std::string& command);
int cmd_lava_job(const std::vector<std::string>& args, const std::string& command);
int cmd_lava_report(const std::vector<std::string>& args, const std::string& command);
int cmd_manpage(const std::vector<std::string>& args, const std::string& command);
int cmd_explore(const std::vector<std::string>& args, const std::string& command);
int cmd_replay(const std::vector<std::string>& args, const std::string& command);
int cmd_minimize(const std::vector<std::string>& args, const std::string& command);
int cmd_completion(const std::vector<std::string>& args, const std::string& command);

}  // namespace diorace
