// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "diorace/params.hpp"
#include "diorace/registry.hpp"

using namespace diorace;

TEST(Registry, PortedCasesAreRegisteredWithMetadata) {
  for (const char* name : {"dma_thread", "forkscrew"}) {
    const CaseInfo* c = Registry::instance().find(name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_EQ(check_case_info(*c), "");
    EXPECT_FALSE(c->fixed_by.empty());
    EXPECT_FALSE(c->known_bad.empty());
    EXPECT_FALSE(c->seed_thread.empty());
    EXPECT_TRUE(c->needs & kNeedODirect);
    EXPECT_FALSE(c->test_only);
    nlohmann::json j = *c;
    EXPECT_EQ(j["fixed_by"][0]["hash"].get<std::string>().size(), 40u);
  }
  EXPECT_TRUE(Registry::instance().find("selftest_hang")->test_only);
}

TEST(Registry, DeclarationsAreChecked) {
  CaseInfo c{.name = "x", .summary = "s", .make = [] { return std::unique_ptr<Case>(); }};
  EXPECT_EQ(check_case_info(c), "");
  c.fixed_by = {{"920756a3306a", "short hash"}};
  EXPECT_NE(check_case_info(c), "");
  c.fixed_by = {};
  c.params = {{"a", "", 5, 0, 4, {}}};
  EXPECT_NE(check_case_info(c), "");
  c.params = {{"a", "", 1, 0, 4, {}}, {"a", "", 1, 0, 4, {}}};
  EXPECT_NE(check_case_info(c), "");
  c.params = {};
  c.name = "Bad-Name";
  EXPECT_NE(check_case_info(c), "");
}

TEST(Params, ResolveValidateAndScope) {
  std::vector<ParamSpec> specs = {{"workers", "", 40, 2, 256, {}}, {"engine", "", 0, 0, 0, {"psync", "libaio"}}};
  auto v = resolve_params("dma_thread", specs, {});
  EXPECT_EQ(v.integer("workers"), 40);
  EXPECT_EQ(v.choice("engine"), "psync");
  v = resolve_params("dma_thread", specs, {{"workers", "8"}, {"dma_thread.engine", "libaio"}, {"other.workers", "1"}});
  EXPECT_EQ(v.integer("workers"), 8);
  EXPECT_EQ(v.choice("engine"), "libaio");
  EXPECT_THROW(resolve_params("dma_thread", specs, {{"workers", "1"}}), UsageError);
  EXPECT_THROW(resolve_params("dma_thread", specs, {{"workers", "lots"}}), UsageError);
  EXPECT_THROW(resolve_params("dma_thread", specs, {{"engine", "mmap"}}), UsageError);
  EXPECT_THROW(split_param("novalue"), UsageError);
  EXPECT_EQ(parse_int_value("x", "2M"), 2 << 20);
}

TEST(Outcome, ExitCodesAndRoundTrip) {
  CaseResult pass{.name = "a", .verdict = Verdict::pass};
  CaseResult skip{.name = "b", .verdict = Verdict::skip, .reason = "no O_DIRECT"};
  CaseResult fail{.name = "c"};
  fail.fail(FailKind::corruption, "lost");
  CaseResult err{.name = "d", .verdict = Verdict::error};
  EXPECT_EQ(exit_code_for({pass, skip}), 0);
  EXPECT_EQ(exit_code_for({skip, skip}), 4);
  EXPECT_EQ(exit_code_for({pass, fail, err}), 1);
  EXPECT_EQ(exit_code_for({pass, err}), 2);
  fail.fail(FailKind::hang, "later evidence does not replace the first");
  EXPECT_EQ(fail.kind, FailKind::corruption);
  nlohmann::json j = fail;
  CaseResult back = j.get<CaseResult>();
  EXPECT_EQ(back.verdict, Verdict::fail);
  EXPECT_EQ(back.kind, FailKind::corruption);
  EXPECT_EQ(back.reason, "lost");
}

// diorace prove's check of a result against a control: the control's kind,
// or the case's own race reported by the kernel first (prog_loop_dio_freeze:
// ext4's WARNING when the write began before FIFREEZE returned); never a
// crash, another kind or somebody else's report.
TEST(Outcome, AControlIsMetByItsKindOrByTheCasesOwnRace) {
  const Control fail_ctl{.kernel = "linux-image-6.1.0-50-cloud-amd64-unsigned", .expect = Verdict::fail,
                         .kind = FailKind::not_blocked};
  auto failed = [](FailKind k, bool own) {
    CaseResult c{.name = "x"};
    c.fail(k, "why");
    if (k == FailKind::splat) c.events.push_back(KernelReportEvent{Splat{.cls = "warning", .title = "WARNING"}, own});
    return c;
  };
  EXPECT_TRUE(meets_control(fail_ctl, failed(FailKind::not_blocked, false)));
  EXPECT_TRUE(meets_control(fail_ctl, failed(FailKind::splat, true)));
  EXPECT_FALSE(meets_control(fail_ctl, failed(FailKind::splat, false)));
  EXPECT_FALSE(meets_control(fail_ctl, failed(FailKind::corruption, false)));
  EXPECT_FALSE(meets_control(fail_ctl, failed(FailKind::crash, false)));
  EXPECT_FALSE(meets_control(fail_ctl, CaseResult{.name = "x", .verdict = Verdict::pass}));
  // A control that names its own race wants the report.
  Control own_ctl = fail_ctl;
  own_ctl.own_race = true;
  EXPECT_FALSE(meets_control(own_ctl, failed(FailKind::not_blocked, false)));
  EXPECT_TRUE(meets_control(own_ctl, failed(FailKind::splat, true)));
  // A PASS control: a PASS, armed on a detector kernel.
  const Control pass_ctl{.kernel = "debug:linux-6.12.117-kcsan-lockdep", .expect = Verdict::pass};
  CaseResult pass{.name = "x", .verdict = Verdict::pass};
  EXPECT_TRUE(meets_control(pass_ctl, pass));
  pass.detectors_missing = {"CONFIG_KCSAN"};
  EXPECT_FALSE(meets_control(pass_ctl, pass));
}
