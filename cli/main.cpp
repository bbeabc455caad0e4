// SPDX-License-Identifier: GPL-2.0-or-later
// diorace: the command-line program. The commands are in commands.cpp's
// table, one file each; this maps their errors to one line and exit 2.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "commands.hpp"
#include "git_rev.hpp"  // generated at build time
#include "exit_on_error.hpp"

using namespace diorace;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage_text(commands());
    return args.empty() ? kExitError : 0;
  }
  if (args[0] == "--version") {
    std::cout << "diorace " << DIORACE_VERSION << " (git " << DIORACE_GIT_REV << ")\n";
    return 0;
  }
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  const std::string name = args[0];
  args.erase(args.begin());
  return exit_code_or_error([&] {
    const Command* c = find_command(commands(), name);
    if (!c) throw UsageError("unknown command '" + name + "' (try 'diorace help')");
    return dispatch(*c, args, command_line, "diorace " + name);
  });
}
