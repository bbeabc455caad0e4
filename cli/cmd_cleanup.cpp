// SPDX-License-Identifier: GPL-2.0-or-later
// diorace cleanup: undoes what killed runs left (every run does this first):
// frozen filesystems thawed, loop devices detached, scratch and VM work
// directories removed, each said on its own line.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>

#include "diorace/error.hpp"
#include "diorace/state.hpp"
#include "diorace/tempdir.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace po = boost::program_options;

namespace diorace {

int cmd_cleanup(const std::vector<std::string>& args, const std::string&) {
  (void)parse_command(kCleanupCommand, args);  // no options: anything is a usage error
  auto said = recover_leftovers();
  for (const auto& l : said) std::printf("%s\n", l.c_str());
  size_t dirs = 0;
  // Scratch directories (diorace-XXXXXX) and VM work directories
  // (diorace-vm-XXXXXX) whose owner is gone.
  for (const auto& d : remove_stale_tempdirs("/var/tmp", "diorace-")) {
    std::printf("%s %s (%s)\n", d.removed ? "removed" : "left", d.path.c_str(), d.note.c_str());
    ++dirs;
  }
  if (said.empty() && dirs == 0) std::printf("nothing left behind by an earlier run\n");
  return 0;
}

extern const Command kCleanupCommand{"cleanup", "",
                                     "undo what killed runs left: thaw, detach loop devices, remove work directories",
                                     cmd_cleanup};

}  // namespace diorace
