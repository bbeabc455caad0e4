// SPDX-License-Identifier: GPL-2.0-or-later
// Flake-aware bisection over an ordered list of kernels.
//
// A failure is definitive (the oracles report evidence, not guesses), so a
// kernel is bad at its first failure. A kernel is called clean only after n
// clean runs, with n >= ln(delta) / ln(1 - p_low): p_low is a one-sided
// Clopper-Pearson lower confidence bound on the per-run failure probability,
// measured on the known-bad end first (run until it has failed `failures`
// times, at least `calibration_runs` times: inverse binomial sampling, for
// which that bound is exact). The error budget 1 - confidence is split: half
// for the estimate of p, half shared by the clean verdicts the search can make,
// so the whole bisection holds the user's confidence.
//
// Two strategies: `binary` (classic halving with the rule above) and `bayes`
// (probabilistic bisection: a posterior over where the behaviour changes,
// updated by every run with p_low, querying its median, stopping when one
// position holds the remaining confidence).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace diorace {

enum class RunVerdict { fail, clean, untestable };

// A run that could not test its kernel (no boot, a set-up error) is tried
// again this many times before the kernel counts as untestable (bisect and
// bisect-step alike): one lost boot must not end a long bisection. Such runs
// are no evidence either way; they count against max_runs.
inline constexpr uint64_t kUntestableRetries = 2;

struct BisectConfig {
  double confidence = 0.95;
  uint64_t calibration_runs = 5;    // at least this many runs of the bad end
  uint64_t calibration_failures = 3;  // ... and until it failed this often
  uint64_t max_calibration_runs = 2000;
  uint64_t max_runs = 0;            // 0: no limit
  std::string strategy = "binary";  // binary | bayes
  std::optional<double> p_low;      // known lower bound: no calibration
  uint64_t lookahead = 1;           // the most runs of one kernel started at once (bisect --jobs)
  uint64_t untestable_retries = kUntestableRetries;
  // How errors name kernel i: names[i], or "kernel i+1" when there are none.
  std::vector<std::string> names;
};

struct BisectDecision {
  size_t kernel = 0;
  uint64_t runs = 0, failures = 0;
  std::string verdict;  // "bad", "clean", "untestable", "calibrated", "retry"
  std::string note;
};

struct BisectOutcome {
  bool found = false;
  std::string direction;  // "fixed" (bad -> good) or "introduced" (good -> bad)
  size_t first = 0;       // index of the first kernel with the new behaviour
  std::string error;      // why nothing was found
  double p_low = 0;       // the bound used
  uint64_t calibration_runs = 0, calibration_failures = 0;
  double confidence = 0;  // achieved: 1 - (alpha_p + sum of false-clean bounds)
  uint64_t total_runs = 0;
  std::vector<BisectDecision> decisions;
};

// One-sided lower bound on p from `failures` in `runs` at level 1 - alpha.
double clopper_pearson_lower(uint64_t failures, uint64_t runs, double alpha);
// Clean runs needed so that a bad kernel passes all of them with probability
// at most delta, when it fails each run with probability at least p_low.
uint64_t clean_runs_needed(double p_low, double delta);

// run(kernel, wanted) runs the case once on kernel i (0 .. n-1) and says
// what happened. `wanted` (at least 1) is how many runs of that kernel the
// search will ask for before its next decision if they all come back clean
// (within --max-runs, and at most cfg.lookahead): a runner may start that
// many at once (BatchedRuns).
// on_decision is told each decision as it is made.
using BisectRun = std::function<RunVerdict(size_t kernel, uint64_t wanted)>;
BisectOutcome bisect(size_t n_kernels, const BisectRun& run, const BisectConfig& cfg,
                     const std::function<void(const BisectDecision&)>& on_decision = {});
// The same, for a runner that takes one run at a time.
BisectOutcome bisect(size_t n_kernels, const std::function<RunVerdict(size_t)>& run, const BisectConfig& cfg,
                     const std::function<void(const BisectDecision&)>& on_decision = {});

// One run's verdict and where it was stored (0: nowhere).
struct BootResult {
  RunVerdict verdict = RunVerdict::untestable;
  int64_t run_id = 0;
  int exit_code = -1;  // the run's `diorace vm` exit status (-1: not known)
};

// Serves a search's runs from batches that run side by side: asked for a
// run of kernel k with `wanted` runs ahead, it starts min(wanted, jobs) runs
// of k at once (run_batch returns them in the order they were started),
// hands out the first and keeps the others for the next requests of k, in
// that order. Which results the search uses never depends on their values,
// so its statistics hold; runs it never asks for are wasted, at most
// jobs - 1 per decision.
class BatchedRuns {
 public:
  using Batch = std::function<std::vector<BootResult>(size_t kernel, size_t count)>;
  BatchedRuns(size_t jobs, Batch run_batch) : jobs_(jobs < 1 ? 1 : jobs), run_batch_(std::move(run_batch)) {}
  BootResult next(size_t kernel, uint64_t wanted);
  uint64_t booted() const { return booted_; }  // runs started, used or not
  uint64_t unused() const;                     // started but never handed out

 private:
  size_t jobs_;
  Batch run_batch_;
  std::map<size_t, std::deque<BootResult>> ready_;
  uint64_t booted_ = 0;
};

// For `git bisect run` steps: how many clean runs one step needs when the
// whole bisection of about `steps` steps must hold `confidence`.
uint64_t step_runs_needed(double p_low, double confidence, unsigned steps);

}  // namespace diorace
