// SPDX-License-Identifier: GPL-2.0-or-later
#include "bench_args.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "diorace/cli_values.hpp"
#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "options.hpp"

namespace po = boost::program_options;

namespace diorace {

void program_bench_options(CommandOptions& o) {
  o.shown.add_options()
      ("runs", po::value<Count>(), "runs (default 10)")
      ("deadline", po::value<Real>(), "seconds a run may take before it is a hang (default 60)")
      ("repeat", po::value<Count>(), "a run executes the program up to K times, until one finds something (default 1: syzkaller's repeat, for races too rare for one execution)")
      ("signature", po::value<std::string>(), "the finding to look for (default: the file's; none: any finding)")
      ("dir", po::value<std::string>(), "where the scratch filesystem's image goes (default /var/tmp; in a VM guest "
                                        "give . for the scratch disk, where explore ran)")
      ("inject-fault", po::value<std::string>(), "TEST ONLY: corrupt completed reads (flip|drop[:RATE])");
  o.words.add_options()("program", po::value<std::string>(), "program file");
  o.pos.add("program", 1);
}

ProgramFile read_bench_args(const po::variables_map& vm, BenchOptions& bench, unsigned& runs, std::string& signature) {
  if (!vm.count("program")) throw UsageError("give a program file (a finding of diorace explore)");
  ProgramFile pf = read_program_file(vm["program"].as<std::string>());
  bench.fs = pf.program.fs;
  if (vm.count("deadline")) bench.deadline_s = vm["deadline"].as<Real>().value;
  if (!(bench.deadline_s >= 1)) throw UsageError("--deadline must be at least 1 s");
  bench.repeat = vm.count("repeat") ? static_cast<unsigned>(vm["repeat"].as<Count>().value) : 1;
  if (bench.repeat < 1 || bench.repeat > 10000) throw UsageError("--repeat must be 1..10000");
  runs = vm.count("runs") ? static_cast<unsigned>(vm["runs"].as<Count>().value) : 10;
  if (runs < 1 || runs > 100000) throw UsageError("--runs must be 1..100000");
  signature = vm.count("signature") ? vm["signature"].as<std::string>() : pf.signature;
  if (signature == "none") signature.clear();
  if (vm.count("dir")) {
    bench.dir = vm["dir"].as<std::string>();
    struct stat st {};
    if (::stat(bench.dir.c_str(), &st) != 0) throw UsageError("--dir " + bench.dir + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw UsageError("--dir " + bench.dir + ": not a directory");
  }
  if (vm.count("inject-fault")) set_fault_config(parse_fault(vm["inject-fault"].as<std::string>()));
  return pf;
}

}  // namespace diorace
