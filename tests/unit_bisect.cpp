// SPDX-License-Identifier: GPL-2.0-or-later
// Bisection statistics, against a simulated flaky oracle: a kernel past the
// change fails each run with probability p, a kernel before it never does.
#include <gtest/gtest.h>

#include <cmath>
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
