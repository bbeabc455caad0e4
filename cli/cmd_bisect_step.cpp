// SPDX-License-Identifier: GPL-2.0-or-later
// diorace bisect-step: one `git bisect run` step, with the statistics of
// lib/bisect: a kernel is bad at its first failure and clean only after
// enough clean runs for the stated confidence.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/bisect.hpp"
#include "diorace/error.hpp"
#include "diorace/hash.hpp"
#include "diorace/fd.hpp"
#include "diorace/outcome.hpp"
#include "diorace/process.hpp"
#include "diorace/store.hpp"
#include "diorace/tempdir.hpp"
#include "bisect_options.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "store_access.hpp"
#include "vm_children.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

void bisect_step_options(CommandOptions& o) {
  o.shown.add_options()
      ("kernel", po::value<std::string>(), "image path or Debian package; @FILE reads it from FILE after the build")
      ("build-cmd", po::value<std::string>(), "shell command that builds the kernel first (failure: skip, 125)")
      ("runs", po::value<Count>(), "clean runs that make the kernel clean")
      ("p", po::value<Real>(), "lower bound on the per-run failure probability on a bad kernel: the runs "
                                   "follow from it, --confidence and --steps")
      ("steps", po::value<Count>()->default_value(Count{10}), "steps the bisection will take (about log2 of the commits)")
      ("terms", po::value<std::string>()->default_value("bad"), "bad: exit 1 when the bug shows (find the commit that "
                                                                  "introduced it); fixed: exit 0 when it shows, 1 when clean (find the fix)")
      ("jobs", po::value<Count>()->default_value(Count{1}), "VMs at once: the runs boot side by side, N at a time");
  o.shown.add(case_options()).add(vm_machine_options());
}

// How many clean runs make the kernel clean: --runs, or from --p, the
// confidence and the steps.
uint64_t step_runs(const po::variables_map& vm) {
  if (vm.count("runs")) {
    const uint64_t runs = vm["runs"].as<Count>().value;
    if (runs == 0) throw UsageError("--runs must be at least 1");
    return runs;
  }
  if (!vm.count("p"))
    throw UsageError("give --runs N or --p P (the per-run failure probability on a bad kernel, a lower bound)");
  double p = vm["p"].as<Real>().value;
  if (!(p > 0 && p <= 1)) throw UsageError("--p must be in (0, 1]");
  return step_runs_needed(p, vm["confidence"].as<Real>().value,
                          static_cast<unsigned>(std::min<uint64_t>(vm["steps"].as<Count>().value, 64)));
}

// --kernel, or with @FILE the first line of FILE (written by the build).
std::string step_kernel(const po::variables_map& vm) {
  std::string kernel = vm["kernel"].as<std::string>();
  if (!kernel.empty() && kernel[0] == '@') {
    std::string text;
    if (!try_read_file(kernel.substr(1), text)) throw SetupError("cannot read " + kernel.substr(1));
    kernel = text.substr(0, text.find_first_of("\r\n"));
  }
  return kernel;
}

enum class StepAnswer { bug, clean, skip, stopped };

// The step's runs, in this process one at a time, or with --jobs N as
// `diorace vm` children N at a time: a failure anywhere in a batch is the
// bug (it is evidence); a run that could not test the kernel is run again,
// and more of them than bisect allows (kUntestableRetries) make the step a
// skip. `bug`: the exit code the bug means (said in the line).
StepAnswer run_step(const VmOptions& o, const ReportTargets& outs, uint64_t runs, uint64_t jobs,
                    const std::string& kernel, int bug) {
  std::optional<OwnedTempDir> work;
  size_t boots = 0;
  uint64_t lost = 0;
  const std::string store_uri = outs.store.empty() ? Store::default_uri() : outs.store;
  for (uint64_t done = 0; done < runs;) {
    const uint64_t count = std::min(jobs, runs - done);
    std::vector<int> codes;
    if (count == 1 && jobs == 1) {
      codes.push_back(run_vm_recorded(o, outs));
    } else {
      if (!work) work = vm_children_dir("diorace-bisect-step-");
      for (const auto& c : run_vm_batch(vm_child_args(o, o.guest_args, store_uri), count, work->path(), boots,
                                        "bisect-step"))
        codes.push_back(c.exit_code);
    }
    done += count;
    if (stop_requested()) return StepAnswer::stopped;
    for (int code : codes)
      if (verdict_of(code) == RunVerdict::fail) {
        const std::string which = count == 1 ? fmt::format("run {}", done) : fmt::format("runs {}-{}", done - count + 1, done);
        std::printf("bisect-step: %s: the bug shows (%s of %llu): exit %d\n", kernel.c_str(), which.c_str(),
                    static_cast<unsigned long long>(runs), bug);
        return StepAnswer::bug;
      }
    for (int code : codes) {
      if (verdict_of(code) != RunVerdict::untestable) continue;
      --done;  // no evidence: it does not count
      if (++lost > kUntestableRetries) {
        std::printf("bisect-step: %s: could not test (diorace vm exit %d, %llu runs lost): skip\n", kernel.c_str(),
                    code, static_cast<unsigned long long>(lost));
        return StepAnswer::skip;
      }
      std::printf("bisect-step: %s: a run could not test it (diorace vm exit %d): running it again\n",
                  kernel.c_str(), code);
    }
  }
  return StepAnswer::clean;
}

}  // namespace

// Exit codes for `git bisect run`: 0 good (old), 1 bad (new), 125 skip;
// never 126 or more, whatever happens.
int cmd_bisect_step(const std::vector<std::string>& args, const std::string& command) {
  constexpr int kSkip = 125;
  // A stop request (SIGINT, SIGTERM, SIGHUP) is neither good, bad nor skip:
  // 255 makes `git bisect run` stop (git-bisect(1): codes above 127 abort).
  constexpr int kAbort = 255;
  stop_on_signals();
  auto interrupted = [&] {
    std::printf("bisect-step: interrupted: exit %d (git bisect run stops)\n", kAbort);
    return kAbort;
  };
  try {
    auto vm = parse_command(kBisectStepCommand, args);
    auto guest = guest_args(vm);
    const std::string terms = vm["terms"].as<std::string>();
    if (terms != "bad" && terms != "fixed") throw UsageError("--terms must be bad or fixed");
    const uint64_t runs = step_runs(vm);
    if (!vm.count("kernel")) throw UsageError("--kernel is required");
    const uint64_t jobs = vm["jobs"].as<Count>().value;
    VmOptions o;
    read_vm_machine_options(vm, o);
    check_vm_jobs(jobs, o.cpus);  // before the build
    if (vm.count("build-cmd")) {
      auto b = run_command({"sh", "-c", vm["build-cmd"].as<std::string>()});
      if (b.interrupted || stop_requested()) return interrupted();
      if (!b.ok()) {
        std::printf("bisect-step: build failed (exit %d): skip\n%s\n", b.status, b.output.c_str());
        return kSkip;
      }
    }
    const std::string kernel = step_kernel(vm);
    set_vm_kernel(o, kernel);
    o.guest_args = guest;
    ReportTargets outs;
    if (vm.count("store")) outs.store = vm["store"].as<std::string>();
    const int bug = terms == "bad" ? 1 : 0, clean = terms == "bad" ? 0 : 1;
    o.command = command;
    switch (run_step(o, outs, runs, jobs, kernel, bug)) {
      case StepAnswer::bug: return bug;
      case StepAnswer::skip: return kSkip;
      case StepAnswer::stopped: return interrupted();
      case StepAnswer::clean: break;
    }
    std::printf("bisect-step: %s: clean in %llu of %llu runs: exit %d\n", kernel.c_str(),
                static_cast<unsigned long long>(runs), static_cast<unsigned long long>(runs), clean);
    return clean;
  } catch (const std::exception& e) {
    if (stop_requested()) return interrupted();
    std::fprintf(stderr, "diorace bisect-step: %s: skip (125)\n", e.what());
    return kSkip;
  } catch (...) {
    return kSkip;
  }
}

extern const Command kBisectStepCommand{
    "bisect-step", "--case CASE --kernel IMAGE|PKG|@FILE (--runs N | --p P) [--terms bad|fixed]",
    "one `git bisect run` step (0 good, 1 bad, 125 skip)", cmd_bisect_step, bisect_step_options,
    "  use: git bisect run diorace bisect-step --case CASE --kernel @FILE --build-cmd CMD --p P\n"};

}  // namespace diorace
