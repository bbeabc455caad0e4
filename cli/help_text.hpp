// SPDX-License-Identifier: GPL-2.0-or-later
// A command's own help text (what `diorace COMMAND --help` prints), for the
// man page and the shell completion: both are generated from the command
// table and these texts, never written twice.
#pragma once
#include <string>
#include <vector>

#include "commands.hpp"

namespace diorace {

// The command's --help output; "" when it has none.
std::string command_help(const Command& c);
// The long options (--name) its help text names, in order, once each.
std::vector<std::string> command_options(const Command& c);

}  // namespace diorace
