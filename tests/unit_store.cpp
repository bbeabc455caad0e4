// SPDX-License-Identifier: GPL-2.0-or-later
// The result store (SQLite) and the report formats, on synthetic results.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "diorace/process.hpp"
#include "diorace/report.hpp"
#include "diorace/store.hpp"

using namespace diorace;
namespace fs = std::filesystem;

namespace {

struct TempStore {
  std::string dir, path;
  TempStore() {
    dir = "/var/tmp/diorace-store-XXXXXX";
    if (!::mkdtemp(dir.data())) throw std::runtime_error("mkdtemp");
    path = dir + "/s.sqlite";
  }
  ~TempStore() { fs::remove_all(dir); }
};

RunRecord system_doc(const std::string& release) {
  return nlohmann::json{{"system",
           {{"kernel", {{"release", release}, {"version", "#1 SMP"}, {"host", "box"}, {"cmdline", "ro"}}},
            {"kconfig", {{"digest", "abcdef0123456789"}, {"detectors", {{"CONFIG_KCSAN", "n"}}}}},
            {"diorace_version", "0.1.0"}}},
          {"target", {{"dir", "/tmp/x"}, {"fs", "ext4"}}},
          {"seed", 42}}.get<RunRecord>();
}

CaseResult result(const std::string& name, Verdict v, FailKind k = FailKind::none) {
  CaseResult r;
  r.name = name;
  r.verdict = v;
  r.kind = k;
  r.iterations = 10;
  r.duration_s = 1.5;
  r.seed = 42;
  if (v == Verdict::fail) {
    r.failures = 3;
    r.first_failure_s = 0.25;
    r.reason = "3 of 10 iterations corrupted";
    Corruption c{.file = "f", .offset = 0x200, .length = 1, .cls = CorruptionClass::fill_byte};
    c.expected = {0x01};
    c.received = {0xfa};
    r.events.push_back(CorruptionEvent{c, 0});
  }
  if (v == Verdict::skip) r.reason = "O_DIRECT is not supported";
  return r;
}

}  // namespace

TEST(Store, MigratesOnceAndRecordsVersion) {
  TempStore t;
  auto s = Store::open(t.path);
  const int newest = schema_migrations().back().version;
  EXPECT_EQ(s->schema_version(), newest);
  s.reset();
  auto again = Store::open(t.path);  // no second application (would fail: tables exist)
  EXPECT_EQ(again->schema_version(), newest);
}

TEST(Store, RoundTripsARunWithItsCasesAndEvents) {
  TempStore t;
  auto s = Store::open(t.path);
  RunRecord rec = system_doc("6.1.0-50-cloud-amd64");
  rec.run.command = "diorace run all";
  int64_t run = s->begin_run(rec);
  int64_t c1 = s->begin_case(run, "dma_thread", "", {{"workers", 40}}, 42);
  auto listed = s->list_runs();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status, "INCOMPLETE");
  EXPECT_EQ(listed[0].incomplete, 1);
  s->finish_case(c1, result("dma_thread", Verdict::fail, FailKind::corruption));
  s->add_case(run, result("forkscrew", Verdict::skip));
  rec.exit_code = 1;
  rec.run.status = "COMPLETE";
  s->finish_run(run, rec);
  nlohmann::json doc = s->load_run(run);
  EXPECT_EQ(doc["run"]["status"], "COMPLETE");
  EXPECT_EQ(doc["exit_code"], 1);
  EXPECT_EQ(doc["system"]["kernel"]["release"], "6.1.0-50-cloud-amd64");
  ASSERT_EQ(doc["cases"].size(), 2u);
  EXPECT_EQ(doc["cases"][0]["outcome"], "FAIL");
  EXPECT_EQ(doc["cases"][0]["kind"], "corruption");
  EXPECT_DOUBLE_EQ(doc["cases"][0]["first_failure_s"].get<double>(), 0.25);
  EXPECT_EQ(doc["cases"][0]["events"][0]["class"], "fill_byte");
  EXPECT_EQ(doc["cases"][1]["outcome"], "SKIP");
  EXPECT_EQ(s->runs_matching("6.1.0-50-cloud-amd64"), std::vector<int64_t>{run});
  EXPECT_THROW(s->load_run(run + 100), std::exception);
}

// The store keeps the record its run wrote: read back, it is the document a
// run without a store writes (but for the store's run id), event for event,
// and every report made from either is the same.
TEST(Store, GivesBackTheRecordTheRunWrote) {
  TempStore t;
  auto s = Store::open(t.path);
  RunRecord rec = system_doc("6.1.0-50-cloud-amd64");
  rec.run = {.uid = new_run_uid(), .started_at = "2026-11-23T01:02:03.456Z", .mode = "host", .command = "diorace run"};
  rec.target.kind = "dir";
  rec.target.device_info = {{"model", "x"}};
  const int64_t run = s->begin_run(rec);
  CaseResult f = result("dma_thread", Verdict::fail, FailKind::corruption);
  f.setup_s = 0.5;
  f.race_hits = 7;
  f.coverage = "measured";
  f.started_at = "2026-11-23T01:02:04.000Z";
  f.finished_at = "2026-11-23T01:02:05.000Z";
  f.events.push_back(FindingEvent{Finding{.kind = FailKind::wrong_result, .oracle = "result", .summary = "s", .text = "t",
                                          .detail = {{"got", 1}}},
                                  3});
  f.events.push_back(KernelReportEvent{Splat{.cls = "warning", .title = "WARNING: x", .text = "WARNING: x\n..."}, true});
  f.events.push_back(HangEvent{"stacks", nlohmann::json::array({{{"pid", 1}}}), true});
  f.events.push_back(TaintEvent{"W", "warning"});
  f.events.push_back(NoteEvent{"note"});
  const int64_t c = s->begin_case(run, f.name, f.variant, f.params, f.seed);
  s->finish_case(c, f);
  rec.cases.push_back(f);
  rec.cases.push_back(result("forkscrew", Verdict::skip));
  s->add_case(run, rec.cases.back());
  rec.complete = true;
  rec.exit_code = 1;
  rec.run.status = "COMPLETE";
  rec.run.finished_at = "2026-11-23T01:02:06.000Z";
  s->finish_run(run, rec);
  RunRecord back = s->load_run(run);
  ASSERT_EQ(back.run.id, run);
  back.run.id.reset();
  EXPECT_EQ(nlohmann::json(back), nlohmann::json(rec)) << nlohmann::json(back).dump(1) << "\n" << nlohmann::json(rec).dump(1);
  back.run.id = run;
  EXPECT_EQ(to_kcidb({back}, "diorace"), to_kcidb({rec}, "diorace"));
  EXPECT_EQ(to_junit({back}), to_junit({rec}));
  // Rows from before schema version 3 carry no record: read from their columns.
  s.reset();
  auto blank = run_command({"sqlite3", t.path, "UPDATE runs SET record=''; UPDATE case_results SET record='';"});
  ASSERT_EQ(blank.status, 0) << blank.output;
  nlohmann::json old = Store::open(t.path)->load_run(run);
  EXPECT_EQ(old["system"]["kernel"]["release"], "6.1.0-50-cloud-amd64");
  ASSERT_EQ(old["cases"].size(), 2u);
  EXPECT_EQ(old["cases"][0]["events"][0]["class"], "fill_byte");
  EXPECT_EQ(old["cases"][0]["events"][1]["type"], "finding");
  EXPECT_EQ(old["exit_code"], 1);
  // The codec is closed: an unknown event type is refused, not passed on.
  EXPECT_THROW(nlohmann::json({{"type", "mystery"}}).get<Event>(), std::exception);
}

// A run written by another process is found by the uid of its document.
TEST(Store, FindsARunByItsUid) {
  TempStore t;
  auto s = Store::open(t.path);
  RunRecord a = system_doc("6.1.0-50-cloud-amd64"), b = a;
  a.run.uid = "uid-a";
  b.run.uid = "uid-b";
  const int64_t ia = s->begin_run(a), ib = s->begin_run(b);
  EXPECT_EQ(s->run_with_uid("uid-a"), ia);
  EXPECT_EQ(s->run_with_uid("uid-b"), ib);
  EXPECT_FALSE(s->run_with_uid("uid-c").has_value());
  EXPECT_FALSE(s->run_with_uid("").has_value());
}

TEST(Store, ABadLocationIsAClearError) {
  EXPECT_THROW(Store::open("/nonexistent-dir/x.sqlite"), std::exception);
  EXPECT_THROW(Store::open("none"), std::exception);
}

TEST(Reports, CompareNamesFixedRegressedAndNew) {
  auto a = system_doc("6.1");
  a.cases = {result("dma_thread", Verdict::fail, FailKind::corruption), result("forkscrew", Verdict::fail),
                result("aio_stress", Verdict::pass), result("ipi_storm", Verdict::pass)};
  auto b = system_doc("6.12");
  b.cases = {result("dma_thread", Verdict::pass), result("forkscrew", Verdict::pass),
                result("aio_stress", Verdict::fail, FailKind::splat), result("ipi_storm", Verdict::pass),
                result("uring_fork", Verdict::pass)};
  auto cmp = compare_runs({a}, {b});
  ASSERT_EQ(cmp["fixed"].size(), 2u);
  EXPECT_EQ(cmp["fixed"][0]["case"], "dma_thread");
  EXPECT_EQ(cmp["fixed"][1]["case"], "forkscrew");
  ASSERT_EQ(cmp["regressed"].size(), 1u);
  EXPECT_EQ(cmp["regressed"][0]["case"], "aio_stress");
  ASSERT_EQ(cmp["new"].size(), 1u);
  EXPECT_EQ(cmp["unchanged"].size(), 1u);
  // Several runs of one kernel: one failure makes the case FAIL there.
  auto a2 = system_doc("6.1");
  a2.cases = {result("ipi_storm", Verdict::fail, FailKind::splat)};
  auto cmp2 = compare_runs({a, a2}, {b});
  EXPECT_EQ(cmp2["fixed"].size(), 3u);
}

TEST(Reports, FormatsCarryEveryOutcome) {
  auto d = system_doc("6.1");
  CaseResult inc = result("iowq_flags", Verdict::incomplete);
  CaseResult err = result("aio_stress", Verdict::error);
  err.reason = "set-up failed: io_setup: EAGAIN";
  CaseResult nodet = result("dio_wq_teardown", Verdict::pass);
  nodet.detectors_missing = {"CONFIG_PROVE_LOCKING"};
  d.cases = {result("dma_thread", Verdict::fail, FailKind::corruption), result("forkscrew", Verdict::skip), err, inc,
                nodet};
  std::string junit = to_junit({d});
  EXPECT_NE(junit.find("<failure message=\"3 of 10 iterations corrupted\" type=\"corruption\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<skipped message=\"O_DIRECT is not supported\""), std::string::npos);
  EXPECT_NE(junit.find("errors=\"2\""), std::string::npos);
  EXPECT_NE(junit.find("ran WITHOUT its race detector"), std::string::npos);
  std::string tap = to_ktap({d});
  EXPECT_EQ(tap.rfind("TAP version 13\n1..5\n", 0), 0u) << tap;
  EXPECT_NE(tap.find("not ok 1 diorace: dma_thread"), std::string::npos);
  EXPECT_NE(tap.find("ok 2 diorace: forkscrew # SKIP O_DIRECT is not supported"), std::string::npos);
  EXPECT_NE(tap.find("not ok 4 diorace: iowq_flags"), std::string::npos);
  auto k = to_kcidb({d}, "diorace_ci");
  EXPECT_EQ(k["version"]["major"], 5);
  ASSERT_EQ(k["tests"].size(), 5u);
  EXPECT_EQ(k["tests"][0]["status"], "FAIL");
  EXPECT_EQ(k["tests"][3]["status"], "MISS");
  for (const auto& t : k["tests"]) EXPECT_EQ(t["id"].get<std::string>().rfind("diorace_ci:", 0), 0u);
  EXPECT_EQ(to_jsonl({d}).size() > 0, true);
  std::string html = to_html({d});
  EXPECT_NE(html.find("id=\"matrix\""), std::string::npos);
  // Data cannot close the script element.
  auto evil = system_doc("</script><script>alert(1)</script>");
  evil.cases.clear();
  EXPECT_EQ(to_html({evil}).find("</script><script>alert"), std::string::npos);
}

// Kernel columns in version order: the report's order was the store's
// (6.1.0-50, 6.12.107, 6.1.0-56, 6.1.192, 6.12.117, 6.1.0-47 ...).
TEST(Reports, KernelsSortByVersionWithinTheirFlavour) {
  auto k = parse_kernel_name("linux-image-6.1.0-50-cloud-amd64-unsigned", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.170-1 (2026-05-01)");
  EXPECT_EQ(k.name, "6.1.0-50-cloud-amd64");
  EXPECT_EQ(k.flavour, "cloud-amd64");
  EXPECT_EQ(k.upstream, "6.1.170");
  EXPECT_EQ(k.version, (std::vector<long>{6, 1, 0, 50}));
  EXPECT_EQ(parse_kernel_name("6.12.107+deb12-amd64").version, (std::vector<long>{6, 12, 107}));
  EXPECT_EQ(parse_kernel_name("6.12.107+deb12-amd64").flavour, "amd64");
  std::vector<std::string> names = {"6.1.0-50-cloud-amd64", "6.12.107+deb12-amd64", "6.1.0-56-cloud-amd64", "6.1.192",
                                    "6.12.117+deb12-amd64", "6.1.0-47-cloud-amd64", "6.1.0-9-cloud-amd64", "6.12.9"};
  std::vector<KernelName> ks;
  for (const auto& n : names) ks.push_back(parse_kernel_name(n));
  std::sort(ks.begin(), ks.end(), kernel_before);
  std::vector<std::string> got;
  for (const auto& x : ks) got.push_back(x.name);
  EXPECT_EQ(got, (std::vector<std::string>{"6.12.107+deb12-amd64", "6.12.117+deb12-amd64", "6.1.0-9-cloud-amd64",
                                           "6.1.0-47-cloud-amd64", "6.1.0-50-cloud-amd64", "6.1.0-56-cloud-amd64",
                                           "6.1.192", "6.12.9"}));
}

// The report shows a bisection's per-kernel estimate of p from the store's
// bisection log.
TEST(Reports, HtmlCarriesTheBisectionEstimates) {
  TempStore t;
  auto s = Store::open(t.path);
  std::vector<Store::BisectRun> logged;
  const int64_t b = s->open_bisection("k", "dma_thread", {{"case", "dma_thread"}}, false, &logged);
  s->finish_bisection(b, true,
                      {{"first", "6.1.0-56"}, {"direction", "fixed"}, {"confidence", 0.99},
                       {"decisions", {{{"kernel", "6.1.0-50"}, {"runs", 5}, {"failures", 4}, {"verdict", "fail"}},
                                      {{"kernel", "6.1.0-56"}, {"runs", 12}, {"failures", 0}, {"verdict", "clean"}}}}});
  const std::string html = to_html({system_doc("6.1")}, s->list_bisections(20));
  EXPECT_NE(html.find("\"first\":\"6.1.0-56\""), std::string::npos);
  EXPECT_NE(html.find("\"failures\":4"), std::string::npos);
  EXPECT_NE(html.find("id=\"bisections\""), std::string::npos);
}
