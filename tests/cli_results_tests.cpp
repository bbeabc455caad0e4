// SPDX-License-Identifier: GPL-2.0-or-later
// Integration tests of the result store and the reports: the real program,
// its SQLite store, and the outputs checked by independent tools (xmllint
// with a JUnit schema, Perl's TAP::Parser, Python's jsonschema, headless
// Chromium).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "test_util.hpp"

using namespace diorace;
using diorace::test::kcidb_schema;
namespace fs = std::filesystem;

namespace {

using test::run_diorace;
using test::spawn_diorace;
using test::TempDir;

nlohmann::json show(const std::string& store, int run) {
  auto r = run_diorace({"results", "show", std::to_string(run), "--json", "--store", store});
  if (r.status != 0) return nullptr;
  return nlohmann::json::parse(r.output, nullptr, false);
}

std::vector<pid_t> descendants(pid_t pid) {
  std::vector<pid_t> out;
  std::string kids;
  if (!try_read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children", kids)) return out;
  std::istringstream is(kids);
  for (pid_t k; is >> k;) {
    out.push_back(k);
    for (auto g : descendants(k)) out.push_back(g);
  }
  return out;
}

}  // namespace

TEST(Results, RunsAreStoredListedAndShown) {
  TempDir d;
  const std::string store = d.path + "/s.sqlite";
  auto r = run_diorace({"run", "dma_thread", "selftest_panic", "--iterations", "2", "--store", store, "-q"});
  EXPECT_EQ(r.status, 0) << r.output;  // selftest_panic SKIPs outside a guest
  EXPECT_NE(r.output.find("results stored as run 1"), std::string::npos) << r.output;
  auto list = run_diorace({"results", "list", "--store", store});
  EXPECT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("COMPLETE"), std::string::npos) << list.output;
  auto doc = show(store, 1);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["run"]["status"], "COMPLETE");
  EXPECT_FALSE(doc["system"]["kernel"]["release"].get<std::string>().empty());
  ASSERT_EQ(doc["cases"].size(), 2u);
  EXPECT_EQ(doc["cases"][0]["outcome"], "PASS");
  EXPECT_EQ(doc["cases"][1]["outcome"], "SKIP");
  EXPECT_NE(doc["run"]["command"].get<std::string>().find("--iterations 2"), std::string::npos);
  EXPECT_EQ(run_diorace({"results", "show", "1", "--store", store}).output.find("fixed upstream by"), std::string::npos);
  // A FAIL names the fixing commits the case declares; its events are
  // stored once (rows of their own, not again inside the case's record).
  auto bad = run_diorace({"run", "dma_thread", "--iterations", "2", "--inject-fault", "flip", "--store", store, "-q"});
  EXPECT_EQ(bad.status, 1) << bad.output;
  auto text = run_diorace({"results", "show", "2", "--store", store});
  EXPECT_NE(text.output.find("fixed upstream by 920756a3306a"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("fixed upstream by 1ccf164ec866"), std::string::npos) << text.output;
  const auto events = show(store, 2)["cases"][0]["events"];
  EXPECT_FALSE(events.empty());
  // Counted with python3's sqlite3 module (ci/setup installs python3, not the sqlite3 program).
  auto count = [&](const std::string& sql) {
    return run_command({"python3", "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
                        store, sql})
        .output;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM events e JOIN case_results c ON c.id=e.case_id WHERE c.run_id=2"),
            std::to_string(events.size()) + "\n");
  EXPECT_EQ(count("SELECT COUNT(*) FROM case_results WHERE run_id=2 AND record LIKE '%\"events\"%'"), "0\n");
  // Bad input: one line, exit 2.
  auto none = run_diorace({"results", "show", "99", "--store", store});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.output.find("no run 99"), std::string::npos) << none.output;
  auto missing = run_diorace({"results", "list", "--store", d.path + "/nope.sqlite"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("no such store"), std::string::npos) << missing.output;
  auto baddir = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "/nonexistent/x.sqlite"});
  EXPECT_EQ(baddir.status, 2) << baddir.output;
  auto badorigin = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", "--kcidb", d.path + "/k",
                            "--origin", "Bad Origin"});
  EXPECT_EQ(badorigin.status, 2) << badorigin.output;
}

// A run killed with SIGKILL half-way leaves a readable store: the run and the
// case that was running INCOMPLETE, every completed case kept.
void kill_half_way_and_check(const std::string& store, int run) {
  // --dir of our own: a SIGKILLed run cannot remove its scratch files.
  const std::string work = "/var/tmp/diorace-killed-" + std::to_string(::getpid());
  fs::create_directories(work);
  struct Cleanup {
    std::string p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{work};
  pid_t pid = spawn_diorace({"run", "dma_thread", "forkscrew", "--duration", "6", "--store", store, "--dir", work, "-q"});
  ASSERT_GE(pid, 0);
  bool killed = false;
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (store.find("://") == std::string::npos && !fs::exists(store)) continue;
    auto doc = show(store, run);
    if (!doc.is_object() || doc["cases"].size() < 2 || doc["cases"][0]["outcome"] != "PASS") continue;
    // The second case is running: kill the run and its case process at once.
    auto kids = descendants(pid);
    ::kill(pid, SIGKILL);
    for (auto k : kids) ::kill(k, SIGKILL);
    killed = true;
    break;
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(killed) << "the second case never started";
  EXPECT_TRUE(WIFSIGNALED(st));
  auto doc = show(store, run);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["run"]["status"], "INCOMPLETE");
  ASSERT_EQ(doc["cases"].size(), 2u);
  EXPECT_EQ(doc["cases"][0]["name"], "dma_thread");
  EXPECT_EQ(doc["cases"][0]["outcome"], "PASS");
  EXPECT_GT(doc["cases"][0]["iterations"].get<int>(), 0);
  EXPECT_EQ(doc["cases"][1]["name"], "forkscrew");
  EXPECT_EQ(doc["cases"][1]["outcome"], "INCOMPLETE");
}

// One record from the case to the reporters: the run document `--json`
// writes is the one the store gives back (but for the store's run id), and
// the KCIDB file of the run equals the one exported from the store.
TEST(Results, TheStoreGivesBackTheDocumentTheRunWrote) {
  TempDir d;
  const std::string store = d.path + "/s.sqlite";
  auto r = run_diorace({"run", "dma_thread", "selftest_fixture", "iowq_flags", "--iterations", "2", "--store", store,
                        "--json", d.path + "/run.json", "--kcidb", d.path + "/run-kcidb.json", "-q"});
  ASSERT_EQ(r.status, 0) << r.output;
  auto written = nlohmann::json::parse(read_file(d.path + "/run.json"));
  auto stored = show(store, 1);
  ASSERT_TRUE(stored.is_object());
  EXPECT_EQ(stored["run"]["id"], 1);
  stored["run"].erase("id");
  EXPECT_EQ(stored, written) << stored.dump(1) << "\n---\n" << written.dump(1);
  EXPECT_TRUE(written["cases"][0].contains("setup_s")) << written.dump(1);
  EXPECT_FALSE(written["run"]["started_at"].get<std::string>().empty());
  auto x = run_diorace({"results", "export", "--run", "1", "--store", store, "--kcidb", d.path + "/export-kcidb.json"});
  ASSERT_EQ(x.status, 0) << x.output;
  EXPECT_EQ(nlohmann::json::parse(read_file(d.path + "/export-kcidb.json")),
            nlohmann::json::parse(read_file(d.path + "/run-kcidb.json")));
}

TEST(Results, SigkillLeavesIncompleteRecordsAndAReadableStore) {
  TempDir d;
  const std::string store = d.path + "/s.sqlite";
  kill_half_way_and_check(store, 1);
  auto check = run_command({"/usr/bin/python3", "-c",
                            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                            "print(c.execute('PRAGMA integrity_check').fetchone()[0])",
                            store});
  EXPECT_EQ(check.output, "ok\n") << check.output;
  auto list = run_diorace({"results", "list", "--store", store});
  EXPECT_NE(list.output.find("INCOMPLETE"), std::string::npos) << list.output;
  // The next run appends to the same store.
  auto next = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", store, "-q"});
  EXPECT_EQ(next.status, 0) << next.output;
  EXPECT_NE(next.output.find("run 2"), std::string::npos) << next.output;
}

TEST(Results, ExportsValidateAgainstTheirSchemas) {
  TempDir d;
  const std::string store = d.path + "/s.sqlite";
  // FAIL (fault injection), SKIP (panic case outside a guest), FAIL hang.
  auto r = run_diorace({"run", "dma_thread", "selftest_panic", "selftest_hang", "--iterations", "2", "--inject-fault",
                    "flip", "--iteration-timeout", "2", "--store", store, "--junit", d.path + "/run.xml", "--kcidb",
                        d.path + "/run-k.json", "-q"});
  EXPECT_EQ(r.status, 1) << r.output;
  auto e = run_diorace({"results", "export", "--store", store, "--junit", d.path + "/j.xml", "--ktap", d.path + "/k.tap",
                    "--kcidb", d.path + "/k.json", "--jsonl", d.path + "/j.jsonl", "--origin", "diorace_test"});
  ASSERT_EQ(e.status, 0) << e.output;
  for (const char* f : {"/run.xml", "/j.xml"}) {
    auto x = run_command({"xmllint", "--noout", "--schema", DIORACE_SOURCE_DIR "/tests/schemas/junit.xsd", d.path + f});
    EXPECT_EQ(x.status, 0) << x.output;
  }
  std::string junit = read_file(d.path + "/j.xml");
  EXPECT_NE(junit.find("type=\"corruption\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("type=\"hang\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<skipped"), std::string::npos) << junit;
  auto tap = run_command({"perl", "-MTAP::Parser", "-e",
                          "local $/; open F, $ARGV[0] or die; my $p = TAP::Parser->new({tap => <F>}); "
                          "while (my $r = $p->next) {} my @e = $p->parse_errors; print \"$_\\n\" for @e; "
                          "printf \"tests %d failed %d skipped %d version %d\\n\", $p->tests_run, "
                          "scalar($p->failed), scalar($p->skipped), $p->version; exit(@e ? 1 : 0)",
                          d.path + "/k.tap"});
  EXPECT_EQ(tap.status, 0) << tap.output;
  EXPECT_NE(tap.output.find("tests 3 failed 2 skipped 1 version 13"), std::string::npos) << tap.output;
  auto kcidb = run_command({"/usr/bin/python3", DIORACE_SOURCE_DIR "/tests/schemas/validate_kcidb.py",
                            kcidb_schema(), d.path + "/k.json"});
  EXPECT_EQ(kcidb.status, 0) << kcidb.output;
  EXPECT_NE(kcidb.output.find("valid KCIDB v5.3: 1 checkouts, 1 builds, 3 tests"), std::string::npos) << kcidb.output;
  auto from_run = run_command({"/usr/bin/python3", DIORACE_SOURCE_DIR "/tests/schemas/validate_kcidb.py",
                               kcidb_schema(), d.path + "/run-k.json"});
  EXPECT_EQ(from_run.status, 0) << from_run.output;
  // The validator refuses what KernelCI refuses: a null, and v4's 'waived'
  // (the field a hand-written schema once let through).
  auto k = nlohmann::json::parse(read_file(d.path + "/k.json"));
  for (auto doctor : {+[](nlohmann::json& j) { j["tests"][0]["comment"] = nullptr; },
                      +[](nlohmann::json& j) { j["tests"][0]["waived"] = false; }}) {
    auto doctored = k;
    doctor(doctored);
    write_file(d.path + "/bad.json", doctored.dump());
    auto bad = run_command({"/usr/bin/python3", DIORACE_SOURCE_DIR "/tests/schemas/validate_kcidb.py",
                            kcidb_schema(), d.path + "/bad.json"});
    EXPECT_NE(bad.status, 0) << bad.output;
  }
  std::istringstream lines(read_file(d.path + "/j.jsonl"));
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) EXPECT_TRUE(nlohmann::json::parse(line).contains("outcome"));
  EXPECT_EQ(n, 3);
}

TEST(Results, CompareTwoNightsNamesFixedAndRegressed) {
  TempDir d;
  const std::string store = d.path + "/s.sqlite";
  // Night 1: both cases "fail" (fault injection); night 2: clean.
  EXPECT_EQ(run_diorace({"run", "dma_thread", "forkscrew", "--iterations", "2", "--inject-fault", "flip", "--store",
                     store, "-q"}).status, 1);
  EXPECT_EQ(run_diorace({"run", "dma_thread", "forkscrew", "--iterations", "2", "--store", store, "-q"}).status, 0);
  auto c = run_diorace({"results", "compare", "--run", "1", "--run", "2", "--store", store, "--json"});
  ASSERT_EQ(c.status, 0) << c.output;
  auto j = nlohmann::json::parse(c.output);
  ASSERT_EQ(j["comparison"]["fixed"].size(), 2u) << c.output;
  EXPECT_EQ(j["comparison"]["regressed"].size(), 0u);
  auto back = run_diorace({"results", "compare", "--run", "2", "--run", "1", "--store", store, "--fail-on-regression"});
  EXPECT_EQ(back.status, 1) << back.output;
  EXPECT_NE(back.output.find("REGRESSED"), std::string::npos) << back.output;
  auto bad = run_diorace({"results", "compare", "--kernel", "no-such-kernel", "--kernel", "x", "--store", store});
  EXPECT_EQ(bad.status, 2) << bad.output;
}

TEST(Results, HtmlReportRendersInHeadlessChromium) {
  ASSERT_TRUE(have_program("chromium")) << "chromium is installed by ci/setup";
  TempDir d;
  const std::string store = d.path + "/s.sqlite";
  run_diorace({"run", "dma_thread", "forkscrew", "--iterations", "2", "--inject-fault", "flip", "--store", store, "-q"});
  run_diorace({"run", "dma_thread", "forkscrew", "--iterations", "2", "--store", store, "-q"});
  const std::string html = d.path + "/report.html";
  auto r = run_diorace({"report", "--html", html, "--store", store});
  ASSERT_EQ(r.status, 0) << r.output;
  std::vector<std::string> chrome = {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                                     "--disable-sync", "--user-data-dir=" + d.path + "/profile"};
  auto dom_cmd = chrome;
  dom_cmd.insert(dom_cmd.end(), {"--dump-dom", "file://" + html + "#first-failure"});
  auto dom = run_command(dom_cmd, std::chrono::seconds(120));
  EXPECT_NE(dom.output.find("data-rendered=\"ok\""), std::string::npos) << dom.output.substr(0, 3000);
  EXPECT_NE(dom.output.find("<div id=\"errors\"></div>"), std::string::npos) << "script errors in the page";
  EXPECT_NE(dom.output.find("class=\"cell FAIL\""), std::string::npos);
  EXPECT_NE(dom.output.find("<circle"), std::string::npos) << "no detection-time plot";
  // The first failure's details, one click away, hold its corruption report
  // and the commits the case declares as its fix.
  EXPECT_NE(dom.output.find("[corruption]"), std::string::npos);
  EXPECT_NE(dom.output.find("fixed upstream by: 920756a3306a"), std::string::npos);
  const std::string shot = std::string(DIORACE_BUILD_DIR) + "/report-screenshot.png";
  fs::remove(shot);
  auto shot_cmd = chrome;
  shot_cmd.insert(shot_cmd.end(), {"--window-size=1200,900", "--screenshot=" + shot, "file://" + html});
  auto s = run_command(shot_cmd, std::chrono::seconds(120));
  ASSERT_TRUE(fs::exists(shot)) << s.output;
  EXPECT_GT(fs::file_size(shot), 5000u);
}

// The report a person reads, over 34 runs of 12 kernels (run documents made
// from two real runs, with the kernel identities and dates of a lab's
// month): kernels in version order grouped by flavour, runs in progress and
// runs without cases apart, no overlapping labels and no script error at two
// window sizes, filters from the address; screenshots kept in the build dir.
TEST(Results, HtmlReportOfManyKernelsIsOrderedAndReadable) {
  ASSERT_TRUE(have_program("chromium")) << "chromium is installed by ci/setup";
  TempDir d;
  auto pass = run_diorace({"run", "dma_thread", "forkscrew", "--iterations", "2", "--store", "none", "--json",
                           d.path + "/pass.json", "-q"});
  ASSERT_EQ(pass.status, 0) << pass.output;
  auto fail = run_diorace({"run", "dma_thread", "forkscrew", "--iterations", "2", "--inject-fault", "flip", "--store",
                           "none", "--json", d.path + "/fail.json", "-q"});
  ASSERT_EQ(fail.status, 1) << fail.output;
  const auto pass_doc = nlohmann::json::parse(read_file(d.path + "/pass.json"));
  const auto fail_doc = nlohmann::json::parse(read_file(d.path + "/fail.json"));
  const std::vector<std::string> kernels = {"6.12.107+deb12-amd64", "6.1.0-50-cloud-amd64", "6.1.0-56-cloud-amd64",
                                            "6.1.192",              "6.12.117+deb12-amd64", "6.1.0-47-cloud-amd64",
                                            "6.1.0-9-cloud-amd64",  "6.12.38+deb13-amd64",  "6.1.0-50-amd64",
                                            "6.18.3-custom",        "6.12.9",               "6.1.0-56-amd64"};
  const std::vector<std::string> expected = {"6.1.0-50-amd64",       "6.1.0-56-amd64",       "6.12.38+deb13-amd64",
                                             "6.12.107+deb12-amd64", "6.12.117+deb12-amd64", "6.1.0-9-cloud-amd64",
                                             "6.1.0-47-cloud-amd64", "6.1.0-50-cloud-amd64", "6.1.0-56-cloud-amd64",
                                             "6.18.3-custom",        "6.1.192",              "6.12.9"};
  std::vector<std::string> args = {"report", "--html", d.path + "/report.html"};
  for (int i = 0; i < 32; ++i) {
    auto doc = (i % 3 == 0) ? fail_doc : pass_doc;
    doc["system"]["kernel"]["release"] = kernels[i % kernels.size()];
    doc["run"]["uid"] = "uid" + std::to_string(i);
    doc["run"]["started_at"] = fmt::format("2026-11-{:02}T0{}:00:00.000Z", 1 + i % 20, i % 10);
    for (auto& c : doc["cases"])
      if (c["outcome"] == "FAIL") c["first_failure_s"] = 0.1 + 0.37 * i;
    const std::string f = d.path + "/run" + std::to_string(i) + ".json";
    write_file(f, doc.dump());
    args.insert(args.end(), {"--document", f});
  }
  auto running = pass_doc;
  running["run"]["status"] = "INCOMPLETE";
  running["complete"] = false;
  running["system"]["kernel"]["release"] = "6.1.0-99-cloud-amd64";
  running["cases"] = nlohmann::json::array();
  auto refused = running;
  refused["run"]["status"] = "REFUSED";
  refused["system"]["kernel"]["release"] = "";
  refused["run"]["label"] = "linux-image-6.1.0-98-cloud-amd64-unsigned";
  refused["error"] = "vm: unknown case 'nosuch'";
  write_file(d.path + "/running.json", running.dump());
  write_file(d.path + "/refused.json", refused.dump());
  args.insert(args.end(), {"--document", d.path + "/running.json", "--document", d.path + "/refused.json"});
  auto r = run_diorace(args);
  ASSERT_EQ(r.status, 0) << r.output;
  std::vector<std::string> chrome = {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                                     "--disable-sync", "--user-data-dir=" + d.path + "/profile"};
  for (const char* size : {"1400,1000", "1280,1000", "700,1000"}) {
    auto dom_cmd = chrome;
    dom_cmd.insert(dom_cmd.end(), {std::string("--window-size=") + size, "--dump-dom", "file://" + d.path + "/report.html"});
    auto dom = run_command(dom_cmd, std::chrono::seconds(120));
    EXPECT_NE(dom.output.find("data-rendered=\"ok\""), std::string::npos) << size << dom.output.substr(0, 2000);
    EXPECT_NE(dom.output.find("data-overlaps=\"0\""), std::string::npos)
        << size << ": " << dom.output.substr(dom.output.find("id=\"layout\""), 2000);
    EXPECT_NE(dom.output.find("<div id=\"errors\"></div>"), std::string::npos) << "script errors at " << size;
    // A 1280-pixel window shows both tables whole: nothing cut at the right edge.
    if (std::string(size) != "700,1000") {
      EXPECT_NE(dom.output.find("data-overflow=\"none\""), std::string::npos)
          << size << ": " << dom.output.substr(dom.output.find("<body"), 200);
    }
    // Kernel columns in version order, grouped by flavour; nothing of the
    // pending runs among them.
    const std::string matrix = dom.output.substr(dom.output.find("id=\"matrix\""),
                                                 dom.output.find("id=\"details\"") - dom.output.find("id=\"matrix\""));
    std::vector<std::string> got;
    for (size_t p = 0; (p = matrix.find("<span class=\"lbl\">", p)) != std::string::npos;) {
      p += 18;
      got.push_back(matrix.substr(p, matrix.find('<', p) - p));
    }
    EXPECT_EQ(got, expected) << size;
    EXPECT_EQ(matrix.find("6.1.0-99"), std::string::npos);
    EXPECT_NE(matrix.find("class=\"flavour\" colspan=\"5\">amd64<"), std::string::npos) << matrix.substr(0, 1500);
    const std::string pending = dom.output.substr(dom.output.find("id=\"pending\""), 1500);
    EXPECT_NE(pending.find("INCOMPLETE"), std::string::npos) << pending;
    EXPECT_NE(pending.find("REFUSED"), std::string::npos) << pending;
    EXPECT_NE(pending.find("unknown case"), std::string::npos) << pending;
    // One chart per case with every failing kernel on its y axis.
    EXPECT_NE(dom.output.find("dma_thread: seconds to first detection"), std::string::npos);
    const std::string width = std::string(size).substr(0, std::string(size).find(','));
    const std::string shot = std::string(DIORACE_BUILD_DIR) + "/report-" + width + ".png";
    fs::remove(shot);
    auto shot_cmd = chrome;
    shot_cmd.insert(shot_cmd.end(), {std::string("--window-size=") + size, "--screenshot=" + shot,
                                     "file://" + d.path + "/report.html"});
    auto s = run_command(shot_cmd, std::chrono::seconds(120));
    ASSERT_TRUE(fs::exists(shot)) << s.output;
    EXPECT_GT(fs::file_size(shot), 20000u) << shot;
  }
  // Filters from the address: only dma_thread's failures.
  auto dom_cmd = chrome;
  dom_cmd.insert(dom_cmd.end(), {"--dump-dom", "file://" + d.path + "/report.html#case=dma_thread&outcome=FAIL"});
  auto dom = run_command(dom_cmd, std::chrono::seconds(120));
  EXPECT_NE(dom.output.find("shown: 11 result(s), 11 failing"), std::string::npos)
      << dom.output.substr(dom.output.find("id=\"summary\""), 300);
  EXPECT_EQ(dom.output.find("<th class=\"case\">forkscrew"), std::string::npos);
}

// PostgreSQL: the same store behaviour against a real server (ci/postgres
// starts one on loopback; ci/test exports DIORACE_TEST_PG).
namespace {
struct PgDatabase {
  std::string admin, uri, name;
  PgDatabase() {
    const char* base = std::getenv("DIORACE_TEST_PG");
    if (!base || !*base) return;
    admin = base;
    name = "diorace_t" + std::to_string(::getpid()) + "_" + std::to_string(counter()++);
    auto r = run_command({"psql", admin, "-qc", "CREATE DATABASE " + name});
    if (r.status != 0) throw std::runtime_error("CREATE DATABASE: " + r.output);
    uri = admin.substr(0, admin.rfind('/') + 1) + name;
  }
  ~PgDatabase() {
    if (!name.empty()) run_command({"psql", admin, "-qc", "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"});
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
};
}  // namespace

TEST(ResultsPostgres, SigkillLeavesIncompleteRecords) {
  PgDatabase db;
  if (db.uri.empty()) GTEST_SKIP() << "DIORACE_TEST_PG is not set (ci/test sets it)";
  kill_half_way_and_check(db.uri, 1);
}

TEST(ResultsPostgres, ConcurrentRunsOnAFreshDatabaseKeepEveryRecord) {
  PgDatabase db;
  if (db.uri.empty()) GTEST_SKIP() << "DIORACE_TEST_PG is not set (ci/test sets it)";
  // Six runs start at once against an empty database: they race to create
  // the schema and then write their rows side by side.
  constexpr int kRuns = 6;
  std::vector<pid_t> pids;
  for (int i = 0; i < kRuns; ++i) {
    pid_t pid = spawn_diorace({"run", "dma_thread", "forkscrew", "selftest_panic", "--iterations", "3", "--store",
                               db.uri, "-q"});
    ASSERT_GE(pid, 0);
    pids.push_back(pid);
  }
  for (auto pid : pids) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st;
  }
  auto list = run_diorace({"results", "list", "--json", "--store", db.uri});
  ASSERT_EQ(list.status, 0) << list.output;
  auto runs = nlohmann::json::parse(list.output);
  ASSERT_EQ(runs.size(), static_cast<size_t>(kRuns));
  for (const auto& r : runs) {
    EXPECT_EQ(r["status"], "COMPLETE");
    EXPECT_EQ(r["cases"], 3);
    EXPECT_EQ(r["pass"], 2);
    EXPECT_EQ(r["skip"], 1);
  }
  auto ver = run_command({"psql", db.uri, "-qtAc", "SELECT COUNT(*), MAX(version) FROM schema_version"});
  EXPECT_EQ(ver.output, "4|4\n") << "each schema version (1 to 4) was applied once";
  TempDir d;
  auto e = run_diorace({"results", "export", "--store", db.uri, "--kernel", runs[0]["kernel_release"], "--kcidb",
                        d.path + "/k.json"});
  ASSERT_EQ(e.status, 0) << e.output;
  auto kcidb = run_command({"/usr/bin/python3", DIORACE_SOURCE_DIR "/tests/schemas/validate_kcidb.py",
                            kcidb_schema(), d.path + "/k.json"});
  EXPECT_EQ(kcidb.status, 0) << kcidb.output;
  EXPECT_NE(kcidb.output.find(std::to_string(3 * kRuns) + " tests"), std::string::npos) << kcidb.output;
}
