// SPDX-License-Identifier: GPL-2.0-or-later
#include "help_text.hpp"

#include <iostream>
#include <regex>
#include <set>
#include <sstream>

namespace diorace {

std::string command_help(const Command& c) {
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  try {
    (void)c.run({"--help"}, "");
  } catch (const std::exception&) {
    captured.str("");
  }
  std::cout.rdbuf(old);
  return captured.str();
}

std::vector<std::string> command_options(const Command& c) {
  // Boost's option lines: "  --name arg  help" or "  -x [ --name ] arg  help".
  static const std::regex opt(R"(^\s+(?:-[a-zA-Z] \[ )?(--[a-z][a-z0-9-]*))");
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::istringstream is(command_help(c));
  std::smatch m;
  for (std::string line; std::getline(is, line);)
    if (std::regex_search(line, m, opt) && seen.insert(m[1]).second) out.push_back(m[1]);
  if (!out.empty()) return out;
  // A help text with a synopsis only: the options it shows in brackets.
  static const std::regex shown(R"([\[(|] ?(--[a-z][a-z0-9-]*))");
  const std::string text = command_help(c);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), shown); it != std::sregex_iterator(); ++it)
    if (seen.insert((*it)[1]).second) out.push_back((*it)[1]);
  return out;
}

}  // namespace diorace
