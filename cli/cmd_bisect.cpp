// SPDX-License-Identifier: GPL-2.0-or-later
// diorace bisect: over an ordered list of kernels, in VMs, with the statistics of
// lib/bisect: a kernel is bad at its first failure and clean only after
// enough clean runs for the stated confidence.
#include <chrono>
#include <optional>
#include <cstdio>
#include <fstream>
#include <iostream>

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

// How bisect boots the runs the search asks for: one at a time in this
// process (its output live), or with --jobs batches of `diorace vm` children
// side by side, each storing its own run (found again by its uid).
class Booter {
 public:
  Booter(const std::vector<std::string>& kernels, const VmOptions& base, const std::vector<std::string>& guest,
         const std::string& command, const std::string& store_uri, Store* store)
      : kernels_(kernels), base_(base), guest_(guest), command_(command), store_uri_(store_uri), store_(store) {}

  std::vector<BootResult> here(size_t k) {
    VmOptions o = machine(k);
    o.guest_args = guest_;
    o.command = command_;
    ReportTargets outs;
    outs.store = store_uri_;
    int64_t run_id = 0;
    int code;
    try {
      code = run_vm_recorded(o, outs, &run_id);
    } catch (const UsageError&) {
      throw;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bisect: %s: %s\n", kernels_[k].c_str(), e.what());
      code = kExitError;
    }
    return {{verdict_of(code), run_id, code}};
  }

  std::vector<BootResult> side_by_side(size_t k, size_t count) {
    if (!work_) work_ = vm_children_dir("diorace-bisect-");
    if (count == 1)
      std::printf("bisect: booting %s\n", kernels_[k].c_str());
    else
      std::printf("bisect: booting %zu side by side: %s\n", count, kernels_[k].c_str());
    std::fflush(stdout);
    std::vector<BootResult> out;
    for (const auto& c : run_vm_batch(vm_child_args(machine(k), guest_, store_uri_), count, work_->path(), boots_,
                                      "bisect"))
      out.push_back({verdict_of(c.exit_code), store_ && c.doc ? store_->run_with_uid(c.doc->run.uid).value_or(0) : 0,
                     c.exit_code});
    return out;
  }

 private:
  VmOptions machine(size_t k) const {
    VmOptions o = base_;
    set_vm_kernel(o, kernels_[k]);
    return o;
  }

  const std::vector<std::string>& kernels_;
  const VmOptions& base_;
  const std::vector<std::string>& guest_;
  const std::string &command_, &store_uri_;
  Store* store_;
  std::optional<OwnedTempDir> work_;  // the children's documents and output
  size_t boots_ = 0;
};

std::string booted_note(const BatchedRuns& r) {
  return r.unused() ? fmt::format(" ({} booted, {} not needed)", r.booted(), r.unused()) : "";
}

}  // namespace


namespace {

void bisect_options(CommandOptions& o) {
  o.shown.add_options()
      ("kernels", po::value<std::vector<std::string>>()->multitoken(), "ordered kernels: images or Debian packages")
      ("max-runs", po::value<Count>()->default_value(Count{0}), "stop after this many runs (0: no limit)")
      ("strategy", po::value<std::string>()->default_value("binary"), "binary | bayes (probabilistic bisection)")
      ("calibration-runs", po::value<Count>()->default_value(Count{5}), "at least this many runs of the bad end")
      ("calibration-failures", po::value<Count>()->default_value(Count{3}), "... and until it failed this often")
      ("p-low", po::value<Real>(), "a known lower bound on the failure probability (no calibration)")
      ("jobs", po::value<Count>()->default_value(Count{1}),
       "VMs at once: a step's runs of one kernel boot side by side (as `diorace vm` children)")
      ("fresh", "start over instead of resuming an interrupted bisection with the same request");
  o.shown.add(case_options()).add(vm_machine_options());
}

BisectConfig read_bisect_config(const po::variables_map& vm) {
  BisectConfig cfg;
  cfg.confidence = vm["confidence"].as<Real>().value;
  cfg.max_runs = vm["max-runs"].as<Count>().value;
  cfg.strategy = vm["strategy"].as<std::string>();
  if (cfg.strategy != "binary" && cfg.strategy != "bayes") throw UsageError("--strategy must be binary or bayes");
  cfg.calibration_runs = vm["calibration-runs"].as<Count>().value;
  cfg.calibration_failures = std::max<uint64_t>(1, vm["calibration-failures"].as<Count>().value);
  if (vm.count("p-low")) {
    double p = vm["p-low"].as<Real>().value;
    if (!(p > 0 && p <= 1)) throw UsageError("--p-low must be in (0, 1]");
    cfg.p_low = p;
  }
  return cfg;
}

// The bisection's answer as the store keeps it.
nlohmann::json bisect_result(const BisectOutcome& out, const std::vector<std::string>& kernels,
                             const BatchedRuns& runner, uint64_t jobs, double wall) {
  nlohmann::json result = {{"found", out.found}, {"direction", out.direction}, {"error", out.error},
                           {"p_low", out.p_low}, {"confidence", out.confidence}, {"runs", out.total_runs},
                           {"booted", runner.booted()}, {"jobs", jobs}, {"wall_s", wall}};
  if (out.found) result["first"] = kernels[out.first];
  nlohmann::json decisions = nlohmann::json::array();
  for (const auto& d : out.decisions)
    decisions.push_back({{"kernel", kernels[d.kernel]}, {"runs", d.runs}, {"failures", d.failures},
                         {"verdict", d.verdict}, {"note", d.note}});
  result["decisions"] = decisions;
  return result;
}

void tell_decision(const BisectDecision& d, const std::vector<std::string>& kernels) {
  std::printf("bisect: %-10s %s: %llu runs, %llu failures%s%s\n", d.verdict.c_str(), kernels[d.kernel].c_str(),
              static_cast<unsigned long long>(d.runs), static_cast<unsigned long long>(d.failures),
              d.note.empty() ? "" : " - ", d.note.c_str());
  std::fflush(stdout);
}

// Why a run is no evidence, in the lines a log's tail keeps.
void tell_untestable(size_t seq, const std::string& kernel, int code) {
  const char* why = code == kExitNoBoot  ? "the guest never reached the test"
                    : code == kExitAllSkip ? "every case was skipped"
                    : code == kExitError   ? "a set-up or harness error (see the run's output above)"
                                           : "no verdict";
  std::printf("bisect: run %zu on %s could not test it: diorace vm exit %d, %s\n", seq + 1, kernel.c_str(), code, why);
  std::fflush(stdout);
}

}  // namespace

namespace {

// The store's log of this request (a request is its case, kernels and
// settings): a new one, or the runs an interrupted one already made.
int64_t open_bisection_log(Store& store, const po::variables_map& vm, const BisectConfig& cfg,
                           const std::vector<std::string>& guest, const std::vector<std::string>& kernels,
                           std::vector<Store::BisectRun>& logged) {
  const nlohmann::json request = {{"case", guest}, {"kernels", kernels}, {"confidence", cfg.confidence},
                                  {"strategy", cfg.strategy}, {"calibration_runs", cfg.calibration_runs},
                                  {"calibration_failures", cfg.calibration_failures},
                                  {"p_low", cfg.p_low ? nlohmann::json(*cfg.p_low) : nlohmann::json("measured")}};
  const int64_t id = store.open_bisection(stable_hash_hex(request.dump()), vm["case"].as<std::string>(), request,
                                          vm.count("fresh") > 0, &logged);
  if (!logged.empty())
    std::printf("bisect: resuming bisection %lld: replaying %zu logged runs\n", static_cast<long long>(id),
                logged.size());
  else
    std::printf("bisect: bisection %lld, log in %s\n", static_cast<long long>(id), store.uri().c_str());
  return id;
}

}  // namespace

// Options, the bisection log (resume), the runs the statistics ask for
// (lib/bisect) and the answer.
int cmd_bisect(const std::vector<std::string>& args, const std::string& command) {
  auto vm = parse_command(kBisectCommand, args);
  auto guest = guest_args(vm);
  if (!vm.count("kernels") || vm["kernels"].as<std::vector<std::string>>().size() < 2)
    throw UsageError("--kernels needs at least two kernels, in order");
  const auto kernels = vm["kernels"].as<std::vector<std::string>>();
  VmOptions base;
  read_vm_machine_options(vm, base);
  for (const auto& k : kernels) set_vm_kernel(base, k);  // every name checked before the first boot
  BisectConfig cfg = read_bisect_config(vm);
  cfg.names = kernels;

  const uint64_t jobs = vm["jobs"].as<Count>().value;
  check_vm_jobs(jobs, base.cpus);
  cfg.lookahead = jobs;

  const std::string store_uri = vm.count("store") ? vm["store"].as<std::string>() : Store::default_uri();
  std::unique_ptr<Store> store;
  if (store_uri != "none") store = Store::open(store_uri);
  std::vector<Store::BisectRun> logged;
  const int64_t id = store ? open_bisection_log(*store, vm, cfg, guest, kernels, logged) : 0;
  std::fflush(stdout);

  auto t0 = std::chrono::steady_clock::now();
  size_t seq = 0;
  Booter booter{kernels, base, guest, command, store_uri, store.get()};
  BatchedRuns runner(jobs, [&](size_t k, size_t count) {
    return jobs > 1 ? booter.side_by_side(k, count) : booter.here(k);
  });
  // A stop request ends the bisection after the boot under way (stopped
  // too); the store keeps its log, so the same command resumes it.
  struct Interrupted {};
  stop_on_signals();
  auto run_once = [&](size_t k, uint64_t wanted) -> RunVerdict {
    if (stop_requested()) throw Interrupted{};
    const size_t i = seq++;
    if (i < logged.size() && logged[i].kernel == kernels[k]) {
      const auto& v = logged[i].verdict;
      return v == "fail" ? RunVerdict::fail : v == "clean" ? RunVerdict::clean : RunVerdict::untestable;
    }
    logged.clear();  // the log diverged (or ended): run from here on
    const BootResult r = runner.next(k, wanted);
    if (stop_requested()) throw Interrupted{};  // its verdict is the stop's, not the kernel's
    if (store) store->log_bisect_run(id, static_cast<int64_t>(i), kernels[k], name_of(r.verdict), r.run_id);
    if (r.verdict == RunVerdict::untestable) tell_untestable(i, kernels[k], r.exit_code);
    return r.verdict;
  };
  BisectOutcome out;
  try {
    out = bisect(kernels.size(), BisectRun(run_once), cfg, [&](const BisectDecision& d) { tell_decision(d, kernels); });
  } catch (const Interrupted&) {
    std::fprintf(stderr, "diorace: bisect interrupted after %zu runs%s; the same command resumes it\n", seq,
                 store ? "" : " (no store: it starts over)");
    return kExitError;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nlohmann::json result = bisect_result(out, kernels, runner, jobs, wall);
  // A bisection stopped by --max-runs stays open: the same request resumes it.
  const bool resumable = !out.found && out.error.find("--max-runs") != std::string::npos;
  if (store && !resumable) store->finish_bisection(id, out.found, result);
  if (!out.found) {
    std::printf("bisect: no answer: %s (%llu runs%s, %.0f s)%s\n", out.error.c_str(),
                static_cast<unsigned long long>(out.total_runs), booted_note(runner).c_str(), wall,
                resumable ? "; the same command resumes it" : "");
    return kExitError;
  }
  std::printf("bisect: first %s kernel: %s (the one before it: %s); confidence %.4f; p >= %.3f; %llu runs%s, %.0f s\n",
              out.direction == "fixed" ? "FIXED" : "BAD (introduced)", kernels[out.first].c_str(),
              kernels[out.first - 1].c_str(), out.confidence, out.p_low,
              static_cast<unsigned long long>(out.total_runs), booted_note(runner).c_str(), wall);
  return kExitClean;
}

extern const Command kBisectCommand{"bisect", "--case CASE --kernels K1 .. Kn [--strategy binary|bayes] [--jobs N]",
                                    "flake-aware bisection over kernels in VMs", cmd_bisect, bisect_options};

}  // namespace diorace
