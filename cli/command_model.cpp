// SPDX-License-Identifier: GPL-2.0-or-later
// The program's command model: help, usage, dispatch and parsing from the
// rows (the table itself is in commands.cpp; the guest binary has its own).
#include <iostream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "commands.hpp"
#include "diorace/error.hpp"
#include "diorace/run_args.hpp"
#include "options.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

std::string usage_line(const std::string& head, const char* summary) {
  return head.size() < 46 ? fmt::format("{:<46}{}\n", head, summary) : fmt::format("{}\n{:<46}{}\n", head, "", summary);
}

CommandOptions options_of(const Command& c) {
  CommandOptions o;
  if (c.options) c.options(o);
  return o;
}

}  // namespace

const Command* find_command(CommandTable table, const std::string& name) {
  for (const Command* c : table)
    if (name == c->name) return c;
  return nullptr;
}

std::string usage_text(CommandTable table, const std::string& program) {
  const bool help = find_command(table, "help") != nullptr;
  std::string s = fmt::format("usage: {} COMMAND [OPTIONS]   ({}'{} COMMAND --help' for its options)\ncommands:\n", program,
                              help ? fmt::format("'{} help COMMAND' or ", program) : "", program);
  for (const Command* c : table) {
    s += usage_line(fmt::format("  {} {}", c->name, c->synopsis), c->summary);
    for (const Command* sub : c->subcommands)
      s += usage_line(fmt::format("  {} {} {}", c->name, sub->name, sub->synopsis), sub->summary);
  }
  s += "exit codes: 0 clean, 1 a case failed (kernel bug evidence), 2 usage/set-up/harness error,\n"
       "            3 vm: guest never reached the test, 4 every case skipped\n";
  return s;
}

std::string command_help(const Command& c, const std::string& path) {
  std::ostringstream s;
  s << "usage: " << path << (*c.synopsis ? " " : "") << c.synopsis << "\n  " << c.summary << "\n";
  if (*c.details) s << c.details;
  if (c.options) {
    const CommandOptions o = options_of(c);
    std::ostringstream d;
    d << o.shown;
    const std::string text = d.str();
    const size_t start = text.find_first_not_of('\n');
    if (start != std::string::npos) s << "\n" << text.substr(start);
  }
  if (!c.subcommands.empty()) {
    s << "subcommands ('" << path << " SUBCOMMAND --help' for its options):\n";
    for (const Command* sub : c.subcommands) s << usage_line(fmt::format("  {} {}", sub->name, sub->synopsis), sub->summary);
  }
  return s.str();
}

std::vector<std::string> command_options(const Command& c) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& o) {
    if (seen.insert(o).second) out.push_back(o);
  };
  if (c.options) {
    const CommandOptions o = options_of(c);
    for (const auto& d : o.shown.options()) add("--" + d->long_name());
  }
  for (const Command* sub : c.subcommands)
    for (const auto& o : command_options(*sub)) add(o);
  return out;
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

int dispatch(const Command& c, const std::vector<std::string>& args, const std::string& command_line,
             const std::string& path) {
  if (!c.subcommands.empty()) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
      std::cout << command_help(c, path);
      return args.empty() ? 2 : 0;
    }
    const Command* sub = find_command(c.subcommands, args[0]);
    if (!sub) {
      std::string names;
      for (const Command* s : c.subcommands) names += (names.empty() ? "" : ", ") + std::string(s->name);
      throw UsageError(fmt::format("unknown {} command '{}' ({})", c.name, args[0], names));
    }
    return dispatch(*sub, {args.begin() + 1, args.end()}, command_line, path + " " + sub->name);
  }
  if (wants_help(args)) {
    std::cout << command_help(c, path);
    return 0;
  }
  return c.run(args, command_line);
}

void run_command_options(CommandOptions& o) { o.shown.add(run_options_description()); }

po::variables_map parse_command(const Command& c, const std::vector<std::string>& args) {
  CommandOptions o = options_of(c);
  po::options_description all;
  all.add(o.shown).add(o.words);
  return parse_options(all, args, &o.pos);
}

}  // namespace diorace
