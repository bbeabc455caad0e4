// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/bisect.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace diorace {

namespace {

// log C(n, k)
double log_choose(uint64_t n, uint64_t k) {
  return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
         std::lgamma(static_cast<double>(n - k) + 1);
}

// P(X >= f) for X ~ Binomial(n, p)
double binomial_upper_tail(uint64_t f, uint64_t n, double p) {
  if (f == 0) return 1.0;
  if (p <= 0) return 0.0;
  if (p >= 1) return 1.0;
  double sum = 0;
  for (uint64_t k = f; k <= n; ++k)
    sum += std::exp(log_choose(n, k) + static_cast<double>(k) * std::log(p) +
                    static_cast<double>(n - k) * std::log1p(-p));
  return std::min(sum, 1.0);
}

}  // namespace

double clopper_pearson_lower(uint64_t failures, uint64_t runs, double alpha) {
  if (failures == 0 || runs == 0) return 0.0;
  if (failures >= runs) return std::pow(alpha, 1.0 / static_cast<double>(runs));
  // The p at which seeing >= failures has probability alpha (increasing in p).
  double lo = 0, hi = 1;
  for (int i = 0; i < 200; ++i) {
    double mid = (lo + hi) / 2;
    if (binomial_upper_tail(failures, runs, mid) < alpha)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

uint64_t clean_runs_needed(double p_low, double delta) {
  if (p_low >= 1.0) return 1;
  if (p_low <= 0.0) return UINT64_MAX;
  double n = std::log(delta) / std::log1p(-p_low);
  return std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(n - 1e-9)));
}

uint64_t step_runs_needed(double p_low, double confidence, unsigned steps) {
  return clean_runs_needed(p_low, (1.0 - confidence) / std::max(1u, steps));
}

namespace {

struct Budget {
  uint64_t max_runs, used = 0;
  bool exhausted() const { return max_runs && used >= max_runs; }
};

class Search {
 public:
  Search(size_t n, const BisectRun& run, const BisectConfig& cfg,
         const std::function<void(const BisectDecision&)>& tell)
      : n_(n), run_(run), cfg_(cfg), tell_(tell), budget_{cfg.max_runs} {}

  BisectOutcome go() {
    out_.total_runs = 0;
    if (n_ < 2) return fail("need at least two kernels");
    if (!(cfg_.confidence > 0 && cfg_.confidence < 1)) return fail("confidence must be in (0, 1)");
    const double alpha_total = 1.0 - cfg_.confidence;
    alpha_p_ = cfg_.p_low ? 0.0 : alpha_total / 2;
    clean_budget_ = alpha_total - alpha_p_;
    if (!calibrate()) return out_;
    out_.direction = bad_low_ ? "fixed" : "introduced";
    if (cfg_.strategy == "bayes") return bayes();
    return binary();
  }

 private:
  size_t actual(size_t oriented) const { return bad_low_ ? oriented : n_ - 1 - oriented; }
  std::string label(size_t k) const {
    return k < cfg_.names.size() ? cfg_.names[k] : fmt::format("kernel {}", k + 1);
  }

  BisectOutcome fail(std::string why) {
    out_.found = false;
    out_.error = std::move(why);
    return out_;
  }

  // One run of kernel; `wanted`: the runs of it ahead if all are clean. A
  // run that could not test the kernel is tried again (untestable_retries).
  std::optional<RunVerdict> once(size_t kernel, uint64_t wanted) {
    for (uint64_t tries = 0;; ++tries) {
      if (budget_.exhausted()) return std::nullopt;
      uint64_t ahead = std::min(wanted, cfg_.lookahead);
      if (budget_.max_runs) ahead = std::min(ahead, budget_.max_runs - budget_.used);
      ++budget_.used;
      ++out_.total_runs;
      const RunVerdict v = run_(kernel, std::max<uint64_t>(1, ahead));
      if (v != RunVerdict::untestable || tries >= cfg_.untestable_retries) return v;
      decide({kernel, 0, 0, "retry",
              fmt::format("a run could not test it (try {} of {}): no evidence, running it again", tries + 1,
                          cfg_.untestable_retries + 1)});
    }
  }

  void decide(BisectDecision d) {
    if (tell_) tell_(d);
    out_.decisions.push_back(std::move(d));
  }

  // Alternates runs on the two ends until one fails: that one is bad. Then
  // runs the bad end until it has failed calibration_failures times (and at
  // least calibration_runs times): p_low from those counts.
  bool calibrate() {
    uint64_t runs[2] = {0, 0}, fails[2] = {0, 0};
    const size_t ends[2] = {0, n_ - 1};
    int bad = -1;
    while (bad < 0) {
      for (int e = 0; e < 2 && bad < 0; ++e) {
        // Until one end fails, both ends run (alternately).
        auto v = once(ends[e], cfg_.max_calibration_runs - std::min(runs[e], cfg_.max_calibration_runs - 1));
        if (!v) return (void)fail("--max-runs reached while looking for the bad end"), false;
        if (*v == RunVerdict::untestable) {
          decide({ends[e], runs[e], fails[e], "untestable", "an end of the range cannot be tested"});
          return (void)fail(fmt::format("{} (an end of the range) cannot be tested", label(ends[e]))), false;
        }
        ++runs[e];
        if (*v == RunVerdict::fail) ++fails[e], bad = e;
      }
      if (bad < 0 && runs[0] >= cfg_.max_calibration_runs)
        return (void)fail(fmt::format("neither end failed in {} runs each: no bug to bisect", runs[0])), false;
    }
    bad_low_ = bad == 0;
    const int good = 1 - bad;
    if (cfg_.p_low) {
      out_.p_low = *cfg_.p_low;
    } else {
      while (fails[bad] < cfg_.calibration_failures || runs[bad] < cfg_.calibration_runs) {
        if (runs[bad] >= cfg_.max_calibration_runs) break;
        // Clean runs do not end the measurement until it has its failures.
        const uint64_t left = fails[bad] >= cfg_.calibration_failures
                                  ? cfg_.calibration_runs - std::min(runs[bad], cfg_.calibration_runs)
                                  : cfg_.max_calibration_runs - runs[bad];
        auto v = once(ends[bad], left);
        if (!v) return (void)fail("--max-runs reached while measuring the bad end"), false;
        if (*v == RunVerdict::untestable) {
          decide({ends[bad], runs[bad], fails[bad], "untestable", "the bad end stopped being testable"});
          return (void)fail(fmt::format("{} (an end of the range) cannot be tested", label(ends[bad]))), false;
        }
        ++runs[bad];
        if (*v == RunVerdict::fail) ++fails[bad];
      }
      out_.p_low = clopper_pearson_lower(fails[bad], runs[bad], alpha_p_);
    }
    out_.calibration_runs = runs[bad];
    out_.calibration_failures = fails[bad];
    decide({ends[bad], runs[bad], fails[bad], "calibrated",
            fmt::format("bad end: {} of {} runs failed; p >= {:.3f} at {:.1f}% confidence", fails[bad], runs[bad],
                        out_.p_low, 100 * (1 - alpha_p_))});
    good_end_runs_ = runs[good];
    return true;
  }

  // --- binary: halving, each clean verdict after n clean runs ---
  BisectOutcome binary() {
    const unsigned steps = static_cast<unsigned>(std::ceil(std::log2(static_cast<double>(std::max<size_t>(2, n_ - 1))))) + 1;
    const double delta = clean_budget_ / steps;
    n_clean_ = clean_runs_needed(out_.p_low, delta);
    double spent = alpha_p_;
    // The good end must be clean too (it already has some clean runs).
    auto good = test(actual(n_ - 1), good_end_runs_);
    if (!good) return out_;
    if (*good) return fail("both ends fail: the range has no good kernel");
    spent += std::pow(1 - out_.p_low, static_cast<double>(n_clean_));
    size_t lo = 0, hi = n_ - 1;  // oriented: lo bad, hi good
    while (hi - lo > 1) {
      size_t mid = lo + (hi - lo) / 2;
      auto bad = test(actual(mid), 0);
      if (!bad) {
        out_.error += fmt::format(" (the change lies between {} and {})", label(actual(lo)), label(actual(hi)));
        return out_;
      }
      if (*bad) {
        lo = mid;
      } else {
        hi = mid;
        spent += std::pow(1 - out_.p_low, static_cast<double>(n_clean_));
      }
    }
    out_.found = true;
    out_.first = bad_low_ ? actual(hi) : actual(hi) + 1;
    out_.confidence = std::max(0.0, 1.0 - spent);
    return out_;
  }

  // true: bad (failed), false: clean after n_clean runs; nullopt: stopped.
  std::optional<bool> test(size_t kernel, uint64_t already_clean) {
    uint64_t runs = already_clean;
    while (runs < n_clean_) {
      auto v = once(kernel, n_clean_ - runs);
      if (!v) {
        fail("--max-runs reached");
        return std::nullopt;
      }
      if (*v == RunVerdict::untestable) {
        decide({kernel, runs, 0, "untestable", "cannot be tested"});
        fail(fmt::format("{} cannot be tested", label(kernel)));
        return std::nullopt;
      }
      ++runs;
      if (*v == RunVerdict::fail) {
        decide({kernel, runs, 1, "bad", "failed"});
        return true;
      }
    }
    decide({kernel, runs, 0, "clean", fmt::format("{} clean runs (needed {})", runs, n_clean_)});
    return false;
  }

  // --- bayes: probabilistic bisection over t = first good (oriented) ---
  BisectOutcome bayes() {
    const size_t positions = n_;  // t in 1..n (t == n: even the good end is bad)
    std::vector<double> post(positions + 1, 1.0);
    post[0] = 0;  // the bad end is bad
    const double q = 1 - out_.p_low;
    // The good end's clean calibration runs: it is bad only when t == n.
    post[n_] *= std::pow(q, static_cast<double>(good_end_runs_));
    auto normalise = [&] {
      double s = 0;
      for (double x : post) s += x;
      for (double& x : post) x /= s;
    };
    normalise();
    size_t last_kernel = SIZE_MAX;
    uint64_t streak = 0;
    auto flush = [&](bool bad) {
      if (last_kernel != SIZE_MAX && streak)
        decide({actual(last_kernel), streak, bad ? 1u : 0u, bad ? "bad" : "clean", "bayes"});
      streak = 0;
    };
    for (;;) {
      size_t best = static_cast<size_t>(std::max_element(post.begin(), post.end()) - post.begin());
      if (bayes_done(post)) {
        flush(false);
        if (best == n_) return fail("the good end looks bad: no good kernel in the range");
        out_.found = true;
        out_.first = bad_low_ ? actual(best) : actual(best) + 1;
        out_.confidence = std::max(0.0, post[best] - alpha_p_);
        return out_;
      }
      // Query the kernel k (oriented 1..n-1) whose P(k bad) = P(t > k) is closest to 1/2.
      const size_t k_best = bayes_query(post);
      if (k_best != last_kernel) flush(false);
      last_kernel = k_best;
      auto v = once(actual(k_best), cfg_.lookahead > 1 ? clean_queries_ahead(post, k_best) : 1);
      if (!v) {
        flush(false);
        return fail("--max-runs reached");
      }
      if (*v == RunVerdict::untestable) {
        flush(false);
        decide({actual(k_best), 0, 0, "untestable", "cannot be tested"});
        return fail(fmt::format("{} cannot be tested", label(actual(k_best))));
      }
      ++streak;
      if (*v == RunVerdict::fail) {
        for (size_t t = 0; t <= k_best; ++t) post[t] = 0;
        flush(true);
        last_kernel = SIZE_MAX;
      } else {
        for (size_t t = k_best + 1; t <= n_; ++t) post[t] *= q;
      }
      normalise();
    }
  }

  // The kernel bayes() asks for after the posterior `post`.
  size_t bayes_query(const std::vector<double>& post) const {
    double above = 1.0;  // P(t > k), starting at k = 0
    size_t k_best = 1;
    double gap = 2;
    for (size_t k = 1; k < n_; ++k) {
      above -= post[k];
      double g = std::fabs(above - 0.5);
      if (g < gap) gap = g, k_best = k;
    }
    return k_best;
  }

  bool bayes_done(const std::vector<double>& post) const {
    return *std::max_element(post.begin(), post.end()) >= 1 - clean_budget_;
  }

  // How many times in a row bayes() asks for kernel k (oriented) if every
  // run comes back clean (the posterior moves until it stops or asks
  // elsewhere), counted up to cfg.lookahead: O(n) a step.
  uint64_t clean_queries_ahead(std::vector<double> post, size_t k) const {
    const double q = 1 - out_.p_low;
    uint64_t n = 0;
    while (n < cfg_.lookahead) {
      ++n;
      for (size_t t = k + 1; t <= n_; ++t) post[t] *= q;
      double s = 0;
      for (double x : post) s += x;
      for (double& x : post) x /= s;
      if (bayes_done(post) || bayes_query(post) != k) break;
    }
    return n;
  }

  size_t n_;
  const BisectRun& run_;
  const BisectConfig& cfg_;
  const std::function<void(const BisectDecision&)>& tell_;
  Budget budget_;
  BisectOutcome out_;
  bool bad_low_ = true;
  double alpha_p_ = 0, clean_budget_ = 0;
  uint64_t n_clean_ = 0, good_end_runs_ = 0;
};

}  // namespace

BisectOutcome bisect(size_t n_kernels, const BisectRun& run, const BisectConfig& cfg,
                     const std::function<void(const BisectDecision&)>& on_decision) {
  return Search(n_kernels, run, cfg, on_decision).go();
}

BisectOutcome bisect(size_t n_kernels, const std::function<RunVerdict(size_t)>& run, const BisectConfig& cfg,
                     const std::function<void(const BisectDecision&)>& on_decision) {
  return bisect(n_kernels, BisectRun([&](size_t k, uint64_t) { return run(k); }), cfg, on_decision);
}

BootResult BatchedRuns::next(size_t kernel, uint64_t wanted) {
  auto& ready = ready_[kernel];
  if (ready.empty()) {
    const size_t count = static_cast<size_t>(std::clamp<uint64_t>(wanted, 1, jobs_));
    auto batch = run_batch_(kernel, count);
    if (batch.size() != count) throw std::logic_error("BatchedRuns: a batch came back with the wrong size");
    booted_ += count;
    ready.assign(batch.begin(), batch.end());
  }
  BootResult r = ready.front();
  ready.pop_front();
  return r;
}

uint64_t BatchedRuns::unused() const {
  uint64_t n = 0;
  for (const auto& [k, q] : ready_) n += q.size();
  return n;
}

}  // namespace diorace
