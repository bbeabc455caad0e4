// diorace: the command-line program. The commands are in commands.cpp's
// table, one file each; this maps their errors to one line and exit 2.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options/errors.hpp>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "commands.hpp"

using namespace diorace;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage_text();
    return args.empty() ? kExitError : 0;
  }
  if (args[0] == "--version") {
    std::cout << "diorace " << DIORACE_VERSION << "\n";
    return 0;
  }
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  const std::string name = args[0];
  args.erase(args.begin());
  try {
    const Command* c = find_command(name);
    if (!c) throw UsageError("unknown command '" + name + "' (try 'diorace --help')");
    return c->run(args, command_line);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "diorace: %s\n", e.what());
    return kExitError;
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "diorace: %s\n", e.what());
    return kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diorace: error: %s\n", e.what());
    return kExitError;
  }
}
