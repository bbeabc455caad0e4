// SPDX-License-Identifier: GPL-2.0-or-later
// diorace replay: a program file again, N times, and its hit rate.
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/error.hpp"
#include "diorace/explore.hpp"
#include "diorace/fault.hpp"
#include "diorace/verdict.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "bench_args.hpp"

namespace po = boost::program_options;

namespace diorace {

int cmd_replay(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kReplayCommand, args);
  BenchOptions bo;
  unsigned runs = 0;
  std::string sig;
  const ProgramFile pf = read_bench_args(vm, bo, runs, sig);
  ReplayBench bench(bo);
  HitRate h;
  for (unsigned i = 0; i < runs; ++i) {
    auto r = bench.run(pf.program);
    ++h.runs;
    const bool hit = r.hit(sig);
    h.hits += hit;
    std::cout << fmt::format("run {}: {}{}\n", i + 1,
                             hit ? "HIT  " + r.first_summary : (r.signatures.empty() ? "clean" : "other findings only"),
                             bo.repeat > 1 ? fmt::format(" ({} execution{})", r.executions, r.executions == 1 ? "" : "s")
                                           : "");
    // The first hit's evidence, once: where a hang's tasks were stuck, what a read returned.
    if (hit && h.first_summary.empty()) {
      h.first_summary = r.first_summary;
      std::istringstream evidence(r.first_evidence);
      for (std::string line; std::getline(evidence, line);) std::cout << "    " << line << "\n";
    }
  }
  std::cout << fmt::format("hit rate {}/{} ({:.0f}%) for {}{}\n", h.hits, h.runs, 100 * h.rate(),
                           sig.empty() ? "any finding" : sig, fault_active() ? " (FAULT INJECTED)" : "");
  return h.hits ? kExitFailed : kExitClean;
}

extern const Command kReplayCommand{"replay",
                                    "FILE [--runs N] [--repeat K] [--deadline S] [--signature SIG|none] [--dir DIR]",
                                    "run a program file (a finding) again: its hit rate", cmd_replay,
                                    program_bench_options};

}  // namespace diorace
