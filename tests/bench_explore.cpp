// SPDX-License-Identifier: GPL-2.0-or-later
// The explorer's throughput (not a test): programs of 1 and 4 actors run in
// a directory for a few seconds each; prints operations per second, bytes
// the model checked per second, and the model's cost per operation.
//   bench_explore DIR [SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "diorace/interpreter.hpp"
#include "diorace/model.hpp"
#include "diorace/program.hpp"

using namespace diorace;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_explore DIR [SECONDS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const double seconds = argc > 2 ? std::atof(argv[2]) : 10;
  for (unsigned actors : {1u, 4u}) {
    GeneratorConfig cfg;
    cfg.actors = actors;
    Interpreter interp;
    uint64_t programs = 0, ops = 0, bytes = 0;
    double model_s = 0;
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    while (elapsed() < seconds) {
      const Program p = generate_program(cfg, 1000 + programs);
      InterpreterStats st;
      const History h = run_in_fresh_dir(interp, p, dir + "/bench-" + std::to_string(::getpid()), programs, &st);
      const auto m0 = std::chrono::steady_clock::now();
      ModelStats ms;
      const auto findings = check_history(h, &ms);
      model_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - m0).count();
      ++programs;
      ops += st.ops;
      bytes += ms.bytes_checked;
      if (!findings.empty()) std::printf("  finding: %s\n", findings[0].summary.c_str());
    }
    const double t = elapsed();
    std::printf("actors %u: %llu programs, %.0f I/O operations/s, %.1f MB/s checked, model %.1f us per operation "
                "(%.1f%% of the time)\n",
                actors, static_cast<unsigned long long>(programs), ops / t, bytes / t / 1e6,
                ops ? model_s * 1e6 / ops : 0, 100 * model_s / t);
  }
  return 0;
}
