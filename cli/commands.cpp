// SPDX-License-Identifier: GPL-2.0-or-later
#include "commands.hpp"

#include <fmt/format.h>

namespace diorace {

namespace {

// The one list of commands: dispatch and usage text.
constexpr Command kCommands[] = {
    {"list", "[--json|--names] [--all]", "the cases and their declared metadata", cmd_list},
    {"describe", "CASE", "one case: race, fixing commits, oracles, controls, parameters", cmd_describe},
    {"run", "[CASE...|all] [OPTIONS]", "run cases on this kernel ('run --help')", cmd_run},
    {"vm", "--kernel IMAGE|--deb PKG [OPTIONS] -- run|explore ARGS...", "boot a kernel under qemu and run cases (or the explorer) in it",
     cmd_vm},
    {"fetch-kernel", "PACKAGE", "download and unpack a Debian kernel package into the cache", cmd_fetch_kernel},
    {"results", "list|show|compare|export|delete|bisections|previous|import-lava", "the result store ('results --help')",
     cmd_results},
    {"report", "--html FILE [RUN...]", "a self-contained HTML report from the store", cmd_report},
    {"config", "[--config F] [--section S] [--get KEY]", "the effective target settings", cmd_config},
    {"cleanup", "", "undo what killed runs left: thaw, detach loop devices, remove work directories", cmd_cleanup},
    {"bisect", "--case CASE --kernels K1 .. Kn", "flake-aware bisection over kernels in VMs", cmd_bisect},
    {"bisect-step", "--case CASE --kernel K ...", "one `git bisect run` step (0 good, 1 bad, 125 skip)",
     cmd_bisect_step},
    {"explore", "[--duration S] [--seed N] [--actors N] [--fs FS] [--weight OP=N]... [RUN OPTIONS]",
     "random concurrent Direct-I/O programs checked against a data model; findings as program files", cmd_explore},
    {"replay", "FILE [--runs N]", "run a program file (a finding) again: its hit rate", cmd_replay},
    {"minimize", "FILE [--runs K] [--out FILE]", "the smallest program that still reproduces a finding (rate >= 15%)",
     cmd_minimize},
    {"prove", "[CASE...] [--boots N] [--jobs N]", "boot each case's declared controls and check them", cmd_prove},
    {"lava-job", "[OPTIONS] -- CASE...|all [RUN OPTIONS]", "LAVA job definitions (and a LAVA initramfs) for a kernel and cases",
     cmd_lava_job},
    {"lava-report", "--document FILE", "inside a LAVA job: each case as a LAVA test case, the document into the log",
     cmd_lava_report},
    {"manpage", "", "print this manual page, diorace(1), in roff", cmd_manpage},
    {"completion", "bash", "print a bash completion script", cmd_completion},
};

}  // namespace

std::span<const Command> commands() { return kCommands; }

const Command* find_command(const std::string& name) {
  for (const auto& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

std::string usage_text() {
  std::string s = "usage: diorace COMMAND [OPTIONS]   ('diorace COMMAND --help' for its options)\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string head = fmt::format("  {} {}", c.name, c.synopsis);
    s += head.size() < 46 ? fmt::format("{:<46}{}\n", head, c.summary) : fmt::format("{}\n{:<46}{}\n", head, "", c.summary);
  }
  s += "exit codes: 0 clean, 1 a case failed (kernel bug evidence), 2 usage/set-up/harness error,\n"
       "            3 vm: guest never reached the test, 4 every case skipped\n";
  return s;
}

}  // namespace diorace
