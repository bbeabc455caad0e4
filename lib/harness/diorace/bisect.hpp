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
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace diorace {

enum class RunVerdict { fail, clean, untestable };

struct BisectConfig {
  double confidence = 0.95;
  uint64_t calibration_runs = 5;    // at least this many runs of the bad end
  uint64_t calibration_failures = 3;  // ... and until it failed this often
  uint64_t max_calibration_runs = 2000;
  uint64_t max_runs = 0;            // 0: no limit
  std::string strategy = "binary";  // binary | bayes
  std::optional<double> p_low;      // known lower bound: no calibration
};

struct BisectDecision {
  size_t kernel = 0;
  uint64_t runs = 0, failures = 0;
  std::string verdict;  // "bad", "clean", "untestable", "calibrated"
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

// run(kernel) runs the case once on kernel i (0 .. n-1) and says what
// happened; on_decision is told each decision as it is made.
BisectOutcome bisect(size_t n_kernels, const std::function<RunVerdict(size_t)>& run, const BisectConfig& cfg,
                     const std::function<void(const BisectDecision&)>& on_decision = {});

// For `git bisect run` steps: how many clean runs one step needs when the
// whole bisection of about `steps` steps must hold `confidence`.
uint64_t step_runs_needed(double p_low, double confidence, unsigned steps);

}  // namespace diorace
