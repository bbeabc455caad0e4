// SPDX-License-Identifier: GPL-2.0-or-later
// diorace lava-report: inside a LAVA job (lava/diorace-lava.sh), reports
// every case of a run document as a LAVA test case (lava-test-case, or its
// signal line where the test shell's helpers are absent) and prints the
// document into the job's log between checksummed markers, for
// `diorace results import-lava`.
#include <iostream>

#include "diorace/error.hpp"
#include "diorace/lava.hpp"
#include "commands.hpp"

namespace diorace {

int cmd_lava_report(const std::vector<std::string>& args, const std::string&) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: diorace lava-report --document FILE\n"
                 "  each case as a LAVA test case (diorace.CASE[.VARIANT]: pass, fail, skip; unknown for ERROR and\n"
                 "  INCOMPLETE), then the document between DIORACE-DOCUMENT markers; a missing or broken document\n"
                 "  is reported as the failing test case diorace.harness\n";
    return 0;
  }
  if (args.size() != 2 || args[0] != "--document") throw UsageError("usage: diorace lava-report --document FILE");
  return lava_report_document(args[1]);
}


}  // namespace diorace
