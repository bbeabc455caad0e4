// SPDX-License-Identifier: GPL-2.0-or-later
// diorace minimize: the smallest program that still reproduces a finding.
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/error.hpp"
#include "diorace/explore.hpp"
#include "diorace/fault.hpp"
#include "diorace/fd.hpp"
#include "diorace/outfile.hpp"
#include "diorace/verdict.hpp"
#include "bench_args.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

void minimize_options(CommandOptions& o) {
  program_bench_options(o);
  o.shown.add_options()("out", po::value<std::string>(), "write the minimized program here (default: FILE.min.json; -: standard output, last line)")(
      "min-rate", po::value<Real>(), "keep a candidate that reproduces at least this often (default 0.15)");
}

}  // namespace

int cmd_minimize(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kMinimizeCommand, args);
  BenchOptions bo;
  MinimizeOptions mo;
  std::string sig;
  ProgramFile pf = read_bench_args(vm, bo, mo.runs, sig);
  if (vm.count("min-rate")) mo.min_rate = vm["min-rate"].as<Real>().value;
  if (!(mo.min_rate > 0 && mo.min_rate <= 1)) throw UsageError("--min-rate must be in (0, 1]");
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : vm["program"].as<std::string>() + ".min.json";
  if (out != "-") check_output_path(out, "--out");
  ReplayBench bench(bo);
  const HitRate start = measure(bench, pf.program, sig, mo.runs);
  std::cout << fmt::format("start: {} actors, {} operations, hit rate {}/{}\n", pf.program.actors.size(),
                           pf.program.op_count(), start.hits, start.runs);
  if (start.rate() < mo.min_rate)
    throw SetupError(fmt::format("the program reproduces {} in {} of {} runs, below --min-rate {}: nothing to minimize",
                                 sig.empty() ? "a finding" : sig, start.hits, start.runs, mo.min_rate));
  mo.progress = [](const std::string& line) { std::cout << "  " << line << "\n" << std::flush; };
  const Minimized m = minimize_program(bench, pf.program, sig, mo);
  nlohmann::json j = m.program;
  j["finding"] = pf.finding;
  j["minimized"] = {{"ops_before", m.ops_before}, {"ops_after", m.ops_after}, {"hits", m.rate.hits},
                    {"runs", m.rate.runs},        {"repeat", bo.repeat}, {"candidates", m.candidates}, {"signature", sig},
                    {"fault_injected", fault_active()}};
  if (out != "-") write_file(out, j.dump(2) + "\n");
  std::cout << fmt::format("minimized: {} -> {} operations, {} actors, hit rate {}/{} ({:.0f}%), {} candidates; {}\n",
                           m.ops_before, m.ops_after, m.program.actors.size(), m.rate.hits, m.rate.runs,
                           100 * m.rate.rate(), m.candidates, out == "-" ? "the program follows" : out);
  if (out == "-") std::cout << j.dump() << "\n";  // last, in one line (a guest's exec output keeps its tail)
  return kExitClean;
}

extern const Command kMinimizeCommand{"minimize", "FILE [--runs N] [--repeat K] [--min-rate R] [--dir DIR] [--out FILE]",
                                      "the smallest program that still reproduces a finding (rate >= 15%)",
                                      cmd_minimize, minimize_options};

}  // namespace diorace
