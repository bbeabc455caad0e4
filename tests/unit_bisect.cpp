// SPDX-License-Identifier: GPL-2.0-or-later
// Bisection statistics, against a simulated flaky oracle: a kernel past the
// change fails each run with probability p, a kernel before it never does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <random>

#include "diorace/bisect.hpp"

using namespace diorace;

TEST(Bisect, ClopperPearsonLowerBound) {
  EXPECT_NEAR(clopper_pearson_lower(10, 10, 0.025), std::pow(0.025, 0.1), 1e-9);
  EXPECT_NEAR(clopper_pearson_lower(5, 10, 0.05), 0.2224, 5e-4);   // published table value
  EXPECT_NEAR(clopper_pearson_lower(1, 100, 0.05), 0.000513, 2e-5);
  EXPECT_EQ(clopper_pearson_lower(0, 10, 0.05), 0.0);
  EXPECT_EQ(clean_runs_needed(0.5, 0.01), 7u);   // 0.5^7 = 0.0078 <= 0.01 < 0.5^6
  EXPECT_EQ(clean_runs_needed(0.9, 0.001), 3u);
  EXPECT_EQ(clean_runs_needed(1.0, 0.001), 1u);
}

namespace {

struct Sim {
  size_t n, change;  // kernels [0, change) behave like the first end
  bool fixed;        // true: bad -> good ("fixed"); false: good -> bad
  double p;
  std::mt19937_64 rng;
  RunVerdict operator()(size_t k) {
    bool bad = fixed ? k < change : k >= change;
    return bad && std::uniform_real_distribution<double>(0, 1)(rng) < p ? RunVerdict::fail : RunVerdict::clean;
  }
};

struct Tally {
  int sims = 0, wrong = 0, none = 0;
  double runs = 0;
};

Tally simulate(const std::string& strategy, size_t n, double p, int seeds, double confidence) {
  Tally t;
  for (int s = 0; s < seeds; ++s) {
    std::mt19937_64 pick(static_cast<uint64_t>(s) * 7919 + n * 31 + static_cast<uint64_t>(p * 1000));
    Sim sim{n, 1 + pick() % (n - 1), pick() % 2 == 0, p, std::mt19937_64(pick())};
    BisectConfig cfg;
    cfg.confidence = confidence;
    cfg.strategy = strategy;
    auto out = bisect(n, std::ref(sim), cfg);
    ++t.sims;
    t.runs += static_cast<double>(out.total_runs);
    if (!out.found) {
      ++t.none;
      continue;
    }
    EXPECT_EQ(out.direction, sim.fixed ? "fixed" : "introduced");
    if (out.first != sim.change) ++t.wrong;
  }
  return t;
}

}  // namespace

// Wrong answers stay at or under 1 - confidence (with binomial slack for the
// finite number of simulations), for p from 0.02 to 0.9 and 10 to 10,000
// candidates; the mean runs per bisection are printed for both strategies.
TEST(Bisect, WrongAnswerRateHoldsTheConfidence) {
  const double confidence = 0.95;
  std::printf("%-7s %6s %5s %6s %7s %7s %12s\n", "strat", "N", "p", "sims", "wrong", "none", "mean runs");
  for (const std::string strategy : {"binary", "bayes"}) {
    int all = 0, wrong = 0;
    for (size_t n : {10, 100, 1000, 10000}) {
      for (double p : {0.02, 0.1, 0.5, 0.9}) {
        // Bayes keeps a posterior over every position: fewer seeds at 10,000.
        int seeds = (strategy == "bayes" && n >= 10000) ? 20 : (p < 0.05 ? 60 : 200);
        auto t = simulate(strategy, n, p, seeds, confidence);
        std::printf("%-7s %6zu %5.2f %6d %7d %7d %12.1f\n", strategy.c_str(), n, p, t.sims, t.wrong, t.none,
                    t.runs / t.sims);
        all += t.sims;
        wrong += t.wrong + t.none;
        double slack = 3 * std::sqrt(confidence * (1 - confidence) / t.sims) + 1.0 / t.sims;
        EXPECT_LE(static_cast<double>(t.wrong + t.none) / t.sims, 1 - confidence + slack)
            << strategy << " N=" << n << " p=" << p;
      }
    }
    std::printf("%-7s overall wrong-or-none rate %.4f over %d bisections\n", strategy.c_str(),
                static_cast<double>(wrong) / all, all);
    EXPECT_LE(static_cast<double>(wrong) / all, 1 - confidence);
  }
}

TEST(Bisect, EndsThatDoNotDifferAreAnError) {
  auto never = [](size_t) { return RunVerdict::clean; };
  BisectConfig cfg;
  cfg.max_calibration_runs = 50;
  auto out = bisect(5, never, cfg);
  EXPECT_FALSE(out.found);
  EXPECT_NE(out.error.find("neither end failed"), std::string::npos) << out.error;
  auto always = [](size_t) { return RunVerdict::fail; };
  auto both = bisect(5, always, cfg);
  EXPECT_FALSE(both.found);
  EXPECT_NE(both.error.find("both ends fail"), std::string::npos) << both.error;
  int calls = 0;
  auto budget = bisect(100, [&](size_t k) { ++calls; return k < 50 ? RunVerdict::fail : RunVerdict::clean; },
                       BisectConfig{.max_runs = 7});
  EXPECT_FALSE(budget.found);
  EXPECT_EQ(calls, 7);
}

TEST(Bisect, DecisionsAreReportedInOrder) {
  std::vector<BisectDecision> seen;
  auto out = bisect(
      8, [](size_t k) { return k < 5 ? RunVerdict::fail : RunVerdict::clean; }, BisectConfig{},
      [&](const BisectDecision& d) { seen.push_back(d); });
  ASSERT_TRUE(out.found) << out.error;
  EXPECT_EQ(out.first, 5u);
  EXPECT_EQ(out.direction, "fixed");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().verdict, "calibrated");
  EXPECT_GE(out.confidence, 0.95);
  EXPECT_EQ(seen.size(), out.decisions.size());
}

// A run that could not test its kernel (the CI of 2026-12-07 lost one 6.12
// boot of a bisection this way) is no evidence: the search runs it again,
// and only a kernel that stays untestable ends the bisection. Both
// strategies; the retries count as runs.
TEST(Bisect, ARunThatCouldNotTestIsRunAgain) {
  for (const std::string strategy : {"binary", "bayes"}) {
    std::map<size_t, int> lost = {{4, 1}, {5, 2}};  // kernel -> untestable runs before it works (both must run)
    std::vector<std::string> verdicts;
    auto flaky = [&](size_t k) {
      if (lost[k] > 0) return --lost[k], RunVerdict::untestable;
      return k < 5 ? RunVerdict::fail : RunVerdict::clean;
    };
    BisectConfig cfg;
    cfg.strategy = strategy;
    auto out = bisect(8, flaky, cfg, [&](const BisectDecision& d) { verdicts.push_back(d.verdict); });
    ASSERT_TRUE(out.found) << strategy << ": " << out.error;
    EXPECT_EQ(out.first, 5u) << strategy;
    EXPECT_GE(std::count(verdicts.begin(), verdicts.end(), "retry"), 1) << strategy;
    EXPECT_EQ(std::count(verdicts.begin(), verdicts.end(), "untestable"), 0) << strategy;

    int tries = 0;
    auto dead = [&](size_t k) {
      if (k == 5 || k == 6) return ++tries, RunVerdict::untestable;  // both strategies must try one
      return k < 5 ? RunVerdict::fail : RunVerdict::clean;
    };
    cfg.names = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
    auto none = bisect(8, dead, cfg);
    EXPECT_FALSE(none.found) << strategy;
    EXPECT_TRUE(none.error.starts_with("k5 cannot be tested") || none.error.starts_with("k6 cannot be tested"))
        << none.error;
    EXPECT_EQ(tries, static_cast<int>(cfg.untestable_retries) + 1) << strategy;
  }
}

namespace {

// Each kernel's runs come from its own random stream, so the i-th run of a
// kernel says the same whenever it is made: batches then must not change
// what the search sees.
struct Streams {
  size_t change;
  double p;
  std::vector<std::mt19937_64> rng;
  Streams(size_t n, size_t change, double p, uint64_t seed) : change(change), p(p) {
    for (size_t k = 0; k < n; ++k) rng.emplace_back(seed * 1000003 + k);
  }
  RunVerdict operator()(size_t k) {
    const bool fails = std::uniform_real_distribution<double>(0, 1)(rng[k]) < p;
    return k < change && fails ? RunVerdict::fail : RunVerdict::clean;
  }
};

}  // namespace

// bisect --jobs N: the runs a step asks for start N at a time; the search
// gets the same verdicts in the same order, so it decides the same; the
// runs started beyond what it used are few (at most N - 1 a decision).
TEST(Bisect, BatchesOfRunsGiveTheSameBisection) {
  for (const std::string strategy : {"binary", "bayes"}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      const size_t n = 12, change = 1 + seed % (n - 1);
      const double p = seed % 3 == 0 ? 0.3 : 0.8;
      BisectConfig cfg;
      cfg.strategy = strategy;
      cfg.lookahead = 4;
      Streams one(n, change, p, seed), many(n, change, p, seed);
      auto serial = bisect(n, std::function<RunVerdict(size_t)>(std::ref(one)), cfg);
      size_t batches = 0, largest = 0;
      BatchedRuns batched(4, [&](size_t k, size_t count) {
        ++batches;
        largest = std::max(largest, count);
        std::vector<BootResult> out;
        for (size_t i = 0; i < count; ++i) out.push_back({many(k), static_cast<int64_t>(i + 1)});
        return out;
      });
      auto parallel = bisect(n, BisectRun([&](size_t k, uint64_t wanted) { return batched.next(k, wanted).verdict; }),
                             cfg);
      ASSERT_EQ(serial.found, parallel.found) << strategy << " seed " << seed;
      EXPECT_EQ(serial.first, parallel.first);
      EXPECT_EQ(serial.total_runs, parallel.total_runs);
      ASSERT_EQ(serial.decisions.size(), parallel.decisions.size());
      for (size_t i = 0; i < serial.decisions.size(); ++i) {
        EXPECT_EQ(serial.decisions[i].kernel, parallel.decisions[i].kernel);
        EXPECT_EQ(serial.decisions[i].runs, parallel.decisions[i].runs);
      }
      EXPECT_EQ(batched.booted(), parallel.total_runs + batched.unused());
      EXPECT_LE(batched.unused(), 3 * (parallel.decisions.size() + 2)) << strategy << " seed " << seed;
      EXPECT_LE(largest, 4u);
      EXPECT_LT(batches, parallel.total_runs) << "no run was made side by side";
    }
  }
}

// A budget (--max-runs) caps what the search asks to start: never more runs
// ahead than it has left. (Runs a batch started for one kernel and the search
// then did not use are on top of the budget: at most N - 1 a decision.)
TEST(Bisect, BatchesAskNoMoreThanMaxRunsLeaves) {
  uint64_t used = 0;
  BatchedRuns batched(8, [&](size_t k, size_t count) {
    return std::vector<BootResult>(count, {k < 3 ? RunVerdict::fail : RunVerdict::clean, 0});
  });
  auto out = bisect(10, BisectRun([&](size_t k, uint64_t wanted) {
                      EXPECT_LE(wanted, 7 - used) << "asked to start runs beyond --max-runs";
                      ++used;
                      return batched.next(k, wanted).verdict;
                    }),
                    BisectConfig{.max_runs = 7, .lookahead = 8});
  EXPECT_FALSE(out.found);
  EXPECT_EQ(out.total_runs, 7u);
  EXPECT_EQ(batched.booted(), out.total_runs + batched.unused());
}
