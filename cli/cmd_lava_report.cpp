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
  auto vm = parse_command(kLavaReportCommand, args);
  if (!vm.count("document")) throw UsageError("lava-report: give --document FILE");
  return lava_report_document(vm["document"].as<std::string>());
}

namespace {

void lava_report_options(CommandOptions& o) {
  o.shown.add_options()("document", boost::program_options::value<std::string>(), "the run document (run --json FILE)");
}

}  // namespace

extern const Command kLavaReportCommand{
    "lava-report", "--document FILE", "inside a LAVA job: each case as a LAVA test case, the document into the log",
    cmd_lava_report, lava_report_options,
    "  each case as a LAVA test case (diorace.CASE[.VARIANT]: pass, fail, skip; unknown for ERROR and\n"
    "  INCOMPLETE), then the document between DIORACE-DOCUMENT markers; a missing or broken document\n"
    "  is reported as the failing test case diorace.harness\n"};


}  // namespace diorace
