// SPDX-License-Identifier: GPL-2.0-or-later
// diorace manpage: diorace(1) in roff, generated from the command table and
// each command's --help text (the build installs it).
#include <iostream>
#include <sstream>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "commands.hpp"

namespace diorace {

namespace {

// Roff-safe text: a leading '.' or '\'' would be a request, '\\' an escape,
// and '-' in options must be a real hyphen-minus.
std::string roff(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\\') out += "\\e";
    else if (ch == '-') out += "\\-";
    else out.push_back(ch);
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// A command's help text, verbatim.
void write_help(std::ostream& m, const std::string& help) {
  m << ".PP\n.nf\n";
  std::istringstream is(help);
  for (std::string line; std::getline(is, line);) m << roff(line) << "\n";
  m << ".fi\n";
}

}  // namespace

int cmd_manpage(const std::vector<std::string>& args, const std::string&) {
  if (!args.empty()) throw UsageError("manpage takes no arguments (it prints diorace(1) in roff)");
  std::ostringstream m;
  m << ".TH DIORACE 1 \"\" \"diorace " << DIORACE_VERSION << "\" \"User Commands\"\n"
    << ".SH NAME\ndiorace \\- reproduce Linux Direct\\-I/O races and turn them into regression tests\n"
    << ".SH SYNOPSIS\n";
  for (const Command* c : commands()) {
    m << ".B diorace " << roff(c->name) << "\n";
    if (*c->synopsis) m << roff(c->synopsis) << "\n";
    m << ".br\n";
  }
  m << ".SH DESCRIPTION\n"
    << "diorace runs cases that race Direct I/O against fork, io_uring, AIO, workqueue teardown and more, "
       "on this kernel (\\fBrun\\fR) or on any kernel booted under qemu (\\fBvm\\fR), with oracles that verify "
       "every byte read, watch the kernel log, taint and hangs. A FAIL is evidence of a kernel bug; a PASS "
       "means the case did its work with a working oracle; SKIP and ERROR say why not.\n"
    << ".PP\nIt writes only to devices named as scratch by the user and refuses those that are mounted, "
       "in use or carry a signature unless \\fB\\-\\-force\\-device\\fR names them again.\n"
    << ".SH COMMANDS\n";
  for (const Command* c : commands()) {
    const std::string path = std::string("diorace ") + c->name;
    m << ".SS \"" << roff(c->name) << " " << roff(c->synopsis) << "\"\n" << roff(c->summary) << ".\n";
    write_help(m, command_help(*c, path));
    for (const Command* sub : c->subcommands) write_help(m, command_help(*sub, path + " " + sub->name));
  }
  m << ".SH EXIT STATUS\n"
    << ".TP\n0\nno failure found\n.TP\n1\na case failed: evidence of a kernel bug\n"
    << ".TP\n2\nusage, set\\-up or harness error\n.TP\n3\nvm: the guest never reached the test\n"
    << ".TP\n4\nevery requested case was skipped\n"
    << ".SH ENVIRONMENT\n.TP\nDIORACE_STORE\nthe result store (a SQLite file or postgresql://...)\n"
    << ".TP\nDIORACE_CACHE\nwhere kernels are downloaded to (default ~/.cache/diorace)\n"
    << ".TP\nDIORACE_CONFIG\nthe config file (TEST_DIR, TEST_DEV, SCRATCH_DEV, ...)\n"
    << ".SH SEE ALSO\n\\fBqemu\\-system\\-x86_64\\fR(1), \\fBfio\\fR(1); /usr/share/doc/diorace/README.md\n";
  std::cout << m.str();
  return 0;
}

extern const Command kManpageCommand{"manpage", "", "print this manual page, diorace(1), in roff", cmd_manpage};

}  // namespace diorace
