// SPDX-License-Identifier: GPL-2.0-or-later
// Integration tests: the real diorace program, driven as a user would.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "test_util.hpp"

using namespace diorace;
namespace fs = std::filesystem;

namespace {

using test::run_diorace;
using test::TempDir;

std::set<std::string> var_tmp_diorace() {
  std::set<std::string> s;
  for (auto& e : fs::directory_iterator("/var/tmp"))
    if (e.path().filename().string().rfind("diorace-", 0) == 0 &&
        e.path().filename().string().rfind("diorace-cli-", 0) != 0 &&
        e.path().filename().string().rfind("diorace-console-", 0) != 0)
      s.insert(e.path().string());
  return s;
}

nlohmann::json load(const std::string& p) { return nlohmann::json::parse(read_file(p)); }

int count_diorace_processes() {
  auto r = run_command({"pgrep", "-c", "-x", "diorace"});
  return std::atoi(r.output.c_str());
}

}  // namespace

TEST(Cli, ListJsonHasTheDeclaredMetadata) {
  auto r = run_diorace({"list", "--json"});
  ASSERT_EQ(r.status, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  std::set<std::string> names;
  for (const auto& c : j) {
    names.insert(c["name"]);
    for (const char* key : {"name", "summary", "fixed_by", "known_bad", "seed", "needs", "oracles", "parameters"})
      EXPECT_TRUE(c.contains(key)) << key;
    for (const auto& f : c["fixed_by"]) EXPECT_EQ(f["hash"].template get<std::string>().size(), 40u);
    for (const auto& p : c["parameters"]) EXPECT_TRUE(p.contains("default"));
  }
  EXPECT_TRUE(names.count("dma_thread"));
  EXPECT_TRUE(names.count("forkscrew"));
  EXPECT_FALSE(names.count("selftest_hang"));
  auto d = run_diorace({"describe", "dma_thread"});
  EXPECT_EQ(d.status, 0);
  EXPECT_NE(d.output.find("920756a3306a35f1c08f25207d375885bef98975"), std::string::npos);
}

TEST(Cli, RunAllPassesAndLeavesNothingOutsideTheDirectory) {
  TempDir d;
  auto before = var_tmp_diorace();
  std::string json = d.path + "/../" + fs::path(d.path).filename().string() + ".json";
  auto r = run_diorace({"run", "all", "--dir", d.path, "--duration", "3", "--json", json}, 600);
  EXPECT_EQ(r.status, 0) << r.output;
  auto j = load(json);
  fs::remove(json);
  EXPECT_TRUE(j["complete"].get<bool>());
  std::set<std::string> names;
  for (const auto& c : j["cases"]) {
    names.insert(c["name"].get<std::string>());
    EXPECT_EQ(c["outcome"], "PASS") << c.dump();  // no SKIP here: root, loop devices, io_uring
    EXPECT_GT(c["iterations"].get<int>(), 0);
  }
  for (const char* n : {"dma_thread", "forkscrew", "uring_fork", "iowq_flags", "dio_wq_teardown", "aio_stress",
                        "ipi_storm"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(var_tmp_diorace(), before);
  EXPECT_EQ(count_diorace_processes(), 0);
  EXPECT_EQ(run_command({"losetup", "-a"}).output.find("diorace"), std::string::npos);
  EXPECT_EQ(read_file("/proc/self/mountinfo").find("diorace"), std::string::npos);
  for (const auto& e : d.entries()) EXPECT_EQ(e.rfind("diorace-", 0), 0u) << e;  // only fixtures
  // Fixtures are reused by the next run.
  auto again = run_diorace({"run", "dma_thread", "--dir", d.path, "--iterations", "3"});
  EXPECT_EQ(again.status, 0) << again.output;
}

TEST(Cli, DefaultScratchDirectoryIsRemoved) {
  auto before = var_tmp_diorace();
  auto r = run_diorace({"run", "dma_thread", "--iterations", "5"});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(var_tmp_diorace(), before);
}

TEST(Cli, FaultInjectionFailsEachCaseWithAReport) {
  TempDir d;
  for (const char* c : {"dma_thread", "forkscrew"}) {
    for (const char* mode : {"drop", "flip"}) {
      std::string json = d.path + "/r.json";
      auto r = run_diorace({"run", c, "--dir", d.path, "--iterations", "5", "--inject-fault", mode, "--json", json});
      EXPECT_EQ(r.status, 1) << c << " " << mode << "\n" << r.output;
      EXPECT_NE(r.output.find("FAULT INJECTION IS ON"), std::string::npos);
      EXPECT_NE(r.output.find("expected:"), std::string::npos);
      EXPECT_NE(r.output.find("received:"), std::string::npos);
      auto j = load(json);
      const auto& res = j["cases"][0];
      EXPECT_EQ(res["outcome"], "FAIL");
      EXPECT_EQ(res["kind"], "corruption");
      EXPECT_TRUE(res["fault_injected"].get<bool>());
      const auto& ev = res["events"][0];
      EXPECT_EQ(ev["type"], "corruption");
      EXPECT_EQ(ev["class"], std::string(mode) == "drop" ? "fill_byte" : "garbage");
      EXPECT_TRUE(ev.contains("offset"));
      EXPECT_NE(ev["file"].get<std::string>().find(c), std::string::npos);
      EXPECT_FALSE(ev["expected"].empty());
      fs::remove(json);
    }
  }
  // keep-going counts a failure rate.
  std::string json = d.path + "/k.json";
  auto r = run_diorace({"run", "forkscrew", "--dir", d.path, "--iterations", "4", "--keep-going", "--inject-fault",
                    "drop:0.5", "--json", json});
  EXPECT_EQ(r.status, 1);
  auto res = load(json)["cases"][0];
  EXPECT_EQ(res["iterations"], 4);
  EXPECT_GE(res["failures"].get<int>(), 1);
}

TEST(Cli, BadInputGetsOneLineAndExit2) {
  TempDir d;
  struct Bad {
    std::vector<std::string> args;
    const char* message;
  } bad[] = {
      {{"run", "nosuch", "--dir", d.path}, "unknown case 'nosuch'"},
      {{"run", "dma_thread", "--dir", d.path, "--param", "bogus=1"}, "unknown parameter 'bogus'"},
      {{"run", "dma_thread", "--dir", d.path, "--param", "alignment=5000"}, "alignment: 5000 is out of range [0, 4096]"},
      {{"run", "dma_thread", "--dir", d.path, "--param", "workers=1"}, "workers: 1 is out of range [2, 256]"},
      {{"run", "dma_thread", "--dir", d.path, "--param", "workers"}, "--param expects NAME=VALUE"},
      {{"run", "all", "--dir", "/nonexistent/diorace"}, "--dir /nonexistent/diorace: No such file or directory"},
      {{"run", "all", "--dir", "/etc/hostname"}, "not a directory"},
      {{"run", "all", "--dir", d.path, "--duration", "0"}, "--duration must be positive"},
      {{"run", "all", "--dir", d.path, "--frobnicate"}, "unrecognised option '--frobnicate'"},
      {{"run", "all", "--dir", d.path, "--inject-fault", "scramble"}, "--inject-fault"},
      {{"describe", "nosuch"}, "unknown case"},
      {{"frobnicate"}, "unknown command"},
      {{"vm", "--", "run"}, "exactly one of --kernel"},
  };
  for (const auto& b : bad) {
    auto r = run_diorace(b.args);
    EXPECT_EQ(r.status, 2) << b.message << "\n" << r.output;
    EXPECT_NE(r.output.find(b.message), std::string::npos) << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

TEST(Cli, NoODirectIsASkipWithTheReason) {
  TempDir d;
  ASSERT_EQ(::mount("none", d.path.c_str(), "ramfs", 0, nullptr), 0) << "needs root to mount ramfs";
  // (dio_wq_teardown is not among them: it brings its own filesystem on a loop device.)
  auto r = run_diorace({"run", "dma_thread", "forkscrew", "uring_fork", "iowq_flags", "aio_stress", "ipi_storm",
                        "--dir", d.path, "--iterations", "1"});
  ::umount(d.path.c_str());
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find("SKIP  dma_thread"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("O_DIRECT is not supported"), std::string::npos) << r.output;
}

TEST(Cli, HangOracleKillsAndReportsStacks) {
  TempDir d;
  std::string json = d.path + "/h.json";
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_diorace({"run", "selftest_hang", "--dir", d.path, "--iterations", "5", "--param", "clean_iterations=2",
                    "--json", json});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_LT(took, 3 + 8);  // deadline 3 s plus a few
  auto res = load(json)["cases"][0];
  EXPECT_EQ(res["outcome"], "FAIL");
  EXPECT_EQ(res["kind"], "hang");
  EXPECT_NE(res["reason"].get<std::string>().find("iteration 2"), std::string::npos);
  bool stacks = false;
  for (const auto& ev : res["events"])
    if (ev["type"] == "hang") stacks = ev["text"].get<std::string>().find("state") != std::string::npos;
  EXPECT_TRUE(stacks);
  EXPECT_EQ(count_diorace_processes(), 0);
}

TEST(Cli, KernelLogOracleClassifiesLinesWrittenDuringTheCase) {
  if (::access("/dev/kmsg", W_OK) != 0) GTEST_SKIP() << "/dev/kmsg not writable";
  TempDir d;
  const std::pair<const char*, const char*> lines[] = {
      {"BUG: KCSAN: data-race in io_worker_handle_work / io_wq_activate_free_worker", "kcsan"},
      {"WARNING: possible circular locking dependency detected", "lockdep"},
      {"INFO: task diorace:1 blocked for more than 120 seconds.", "hung_task"},
      {"WARNING: CPU: 0 PID: 1 at kernel/smp.c:421 smp_call_function_many_cond+0x0/0x0", "warning"},
      {"watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [x:1]", "soft_lockup"},
      {"BUG: KASAN: use-after-free in aio_complete+0x0/0x0", "kasan"},
  };
  for (const auto& [line, cls] : lines) {
    std::string file = d.path + "/lines";
    write_file(file, std::string("diorace-selftest ") + line + "\n");
    ::setenv("DIORACE_SELFTEST_KMSG", file.c_str(), 1);
    std::string json = d.path + "/k.json";
    auto r = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--iterations", "1", "--json", json});
    EXPECT_EQ(r.status, 1) << line << r.output;
    auto res = load(json)["cases"][0];
    EXPECT_EQ(res["kind"], "splat");
    bool found = false;
    for (const auto& ev : res["events"]) found |= ev["type"] == "splat" && ev["class"] == cls;
    EXPECT_TRUE(found) << cls << " " << res.dump();
    // An ignore pattern suppresses it.
    auto ig = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--iterations", "1", "--kmsg-ignore",
                       "diorace-selftest"});
    EXPECT_EQ(ig.status, 0) << ig.output;
  }
  // A KCSAN report of another race is an unrelated finding, not the verdict,
  // unless --strict-kmsg.
  write_file(d.path + "/lines", "diorace-selftest BUG: KCSAN: data-race in virtqueue_kick_prepare / vring_interrupt\n");
  {
    std::string json = d.path + "/u.json";
    auto u = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--iterations", "1", "--json", json});
    EXPECT_EQ(u.status, 0) << u.output;
    auto res = load(json)["cases"][0];
    EXPECT_EQ(res["unrelated_findings"], 1);
    EXPECT_NE(u.output.find("1 unrelated kernel report"), std::string::npos);
    auto strict = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--iterations", "1", "--strict-kmsg"});
    EXPECT_EQ(strict.status, 1) << strict.output;
  }
  // A line written before the case's marker is not the case's.
  {
    auto fd = UniqueFd::open("/dev/kmsg", O_WRONLY);
    std::string l = "WARNING: diorace-selftest line before the marker";
    write_all(fd.get(), l.data(), l.size(), "kmsg");
  }
  write_file(d.path + "/lines", "diorace-selftest harmless line\n");
  auto r = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--iterations", "1"});
  EXPECT_EQ(r.status, 0) << r.output;
  ::unsetenv("DIORACE_SELFTEST_KMSG");
}

// The kernel log is watched while the case runs: its own race stops it at
// once with the time to detection; an unrelated finding does not, nor does
// its own race under --keep-going.
TEST(Cli, KernelReportStopsTheCaseWithItsTimeToDetection) {
  if (::access("/dev/kmsg", W_OK) != 0) GTEST_SKIP() << "/dev/kmsg not writable";
  TempDir d;
  ::setenv("DIORACE_SELFTEST_KMSG", (d.path + "/lines").c_str(), 1);
  write_file(d.path + "/lines", "diorace-selftest BUG: KCSAN: data-race in io_worker_handle_work / x\n");
  std::string json = d.path + "/own.json";
  auto own = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--duration", "60", "--json", json});
  EXPECT_EQ(own.status, 1) << own.output;
  auto res = load(json)["cases"][0];
  EXPECT_EQ(res["kind"], "splat");
  EXPECT_LT(res["duration_s"].get<double>(), 10.0) << res.dump();
  ASSERT_TRUE(res.contains("first_failure_s")) << res.dump();
  EXPECT_LT(res["first_failure_s"].get<double>(), 5.0);
  EXPECT_NE(own.output.find("first failure after"), std::string::npos) << own.output;

  json = d.path + "/keep.json";
  auto keep = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--duration", "3", "--keep-going", "--json", json});
  EXPECT_EQ(keep.status, 1) << keep.output;
  EXPECT_GE(load(json)["cases"][0]["duration_s"].get<double>(), 3.0);

  write_file(d.path + "/lines", "diorace-selftest BUG: KCSAN: data-race in virtqueue_kick_prepare / vring_interrupt\n");
  json = d.path + "/other.json";
  auto other = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--duration", "3", "--json", json});
  EXPECT_EQ(other.status, 0) << other.output;
  EXPECT_GE(load(json)["cases"][0]["duration_s"].get<double>(), 3.0);
  ::unsetenv("DIORACE_SELFTEST_KMSG");
}

TEST(Cli, TaintSetDuringACaseIsReportedByLetter) {
  TempDir d;
  std::string taint = d.path + "/tainted";
  write_file(taint, "0\n");
  // The self-test kmsg case writes nothing harmful; the taint "appears" by a
  // helper that rewrites the simulated file while the case runs.
  write_file(d.path + "/lines", "diorace-selftest no splat here\n");
  ::setenv("DIORACE_SELFTEST_KMSG", (d.path + "/lines").c_str(), 1);
  ::setenv("DIORACE_TAINT_FILE", taint.c_str(), 1);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::usleep(300000);
    write_file(taint, "512\n");  // W
    ::_exit(0);
  }
  std::string json = d.path + "/t.json";
  auto r = run_diorace({"run", "selftest_hang", "--dir", d.path, "--iterations", "1", "--iteration-timeout", "1",
                    "--json", json});
  ::waitpid(pid, nullptr, 0);
  ::unsetenv("DIORACE_TAINT_FILE");
  ::unsetenv("DIORACE_SELFTEST_KMSG");
  EXPECT_EQ(r.status, 1);
  auto res = load(json)["cases"][0];
  bool w = false;
  for (const auto& ev : res["events"]) w |= ev["type"] == "taint" && ev["flags"] == "W";
  EXPECT_TRUE(w) << res.dump();
}

TEST(Cli, PanicCaseRefusesOutsideAGuest) {
  auto r = run_diorace({"run", "selftest_panic", "--iterations", "1"});
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find("runs only inside a diorace VM guest"), std::string::npos);
}

TEST(Cli, MissingDetectorIsFlaggedAndPerCaseIgnoreApplies) {
  if (::access("/dev/kmsg", W_OK) != 0) GTEST_SKIP() << "/dev/kmsg not writable";
  TempDir d;
  write_file(d.path + "/lines", "diorace-selftest expected noise WARNING: not evidence\n");
  ::setenv("DIORACE_SELFTEST_KMSG", (d.path + "/lines").c_str(), 1);
  write_file(d.path + "/armed.config", "CONFIG_KCSAN=y\n");
  write_file(d.path + "/plain.config", "# CONFIG_KCSAN is not set\n");
  std::string json = d.path + "/r.json";
  auto plain = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--iterations", "1", "--kconfig",
                            d.path + "/plain.config", "--json", json});
  EXPECT_EQ(plain.status, 0) << plain.output;  // the per-case ignore pattern swallowed the WARNING
  EXPECT_NE(plain.output.find("ran WITHOUT its race detector: CONFIG_KCSAN"), std::string::npos) << plain.output;
  auto res = load(json)["cases"][0];
  EXPECT_FALSE(res["detectors_armed"].get<bool>());
  auto armed = run_diorace({"run", "selftest_kmsg", "--dir", d.path, "--iterations", "1", "--kconfig",
                            d.path + "/armed.config", "--json", json});
  EXPECT_EQ(armed.status, 0);
  EXPECT_EQ(armed.output.find("WITHOUT"), std::string::npos) << armed.output;
  EXPECT_TRUE(load(json)["cases"][0]["detectors_armed"].get<bool>());
  auto desc = run_diorace({"describe", "selftest_kmsg"});
  EXPECT_NE(desc.output.find("CONFIG_KCSAN"), std::string::npos);
  ::unsetenv("DIORACE_SELFTEST_KMSG");
}

// Every case's verification must be able to fail: the fault injector drops
// the data of completed reads, and each case that declares the data oracle
// must FAIL with a corruption report naming its file. A program case
// (repro/programs) declares the oracles its program exercises: one that
// reads FAILs through its contents oracle; each one FAILs under oracle
// injection through its owed results (or, with userfaultfd regions, its
// deadline), and one that freezes through its blocking oracle too.
TEST(Cli, EveryCaseFailsUnderFaultInjection) {
  TempDir d;
  auto list = nlohmann::json::parse(run_diorace({"list", "--json"}).output);
  unsigned programs = 0, without_reads = 0;
  for (const auto& c : list) {
    std::string name = c["name"];
    std::string json = d.path + "/" + name + ".json";
    const bool program = c["seed"].get<std::string>().find("repro/programs/") != std::string::npos;
    const auto oracles = c["oracles"].get<std::vector<std::string>>();
    auto declares = [&](const char* o) { return std::find(oracles.begin(), oracles.end(), o) != oracles.end(); };
    std::vector<std::string> args = {"run", name, "--dir", d.path, "--iterations", "2", "--json", json};
    if (name == "uring_fork") args.insert(args.end(), {"--param", "variant=plain"});
    if (program) {
      ++programs;
      auto o = args;
      o.insert(o.end(), {"--inject-fault", "oracle"});
      auto r = run_diorace(o);
      EXPECT_EQ(r.status, 1) << name << "\n" << r.output;
      std::set<std::string> fired;
      const auto doc = load(json);
      for (const auto& e : doc["cases"][0]["events"])
        if (e["type"] == "finding") fired.insert(e["oracle"].get<std::string>());
      // One with userfaultfd regions runs in a child the injector makes hang.
      EXPECT_TRUE(fired.count(declares("deadline") ? "deadline" : "result")) << name << "\n" << r.output;
      EXPECT_EQ(fired.count("must_block"), declares("must_block") ? 1u : 0u) << name << "\n" << r.output;
      if (!declares("data")) {
        ++without_reads;
        continue;
      }
    } else {
      EXPECT_TRUE(declares("data")) << name;
    }
    args.insert(args.end(), {"--inject-fault", "drop"});
    auto r = run_diorace(args);
    EXPECT_EQ(r.status, 1) << name << "\n" << r.output;
    auto res = load(json)["cases"][0];
    EXPECT_EQ(res["kind"], "corruption") << name;
    // A program case checks its reads with the explorer's model: the
    // dropped data is its contents oracle's finding.
    if (program) {
      EXPECT_EQ(res["events"][0]["type"], "finding") << name;
      EXPECT_EQ(res["events"][0]["oracle"], "data") << name;
    } else {
      EXPECT_EQ(res["events"][0]["type"], "corruption") << name;
    }
  }
  EXPECT_GE(programs, 4u);
  EXPECT_GE(without_reads, 1u);  // prog_loop_dio_freeze writes and freezes only
}

// iowq_flags' other request kinds (extras=1: buffered reads, O_DIRECT writes
// read back, pipe reads, worker-limit changes, rings closed in flight) run
// clean here and are verified: a dropped read is caught.
TEST(Cli, IowqFlagsExtrasRunCleanAndAreVerified) {
  TempDir d;
  std::string json = d.path + "/i.json";
  const std::vector<std::string> base = {"run", "iowq_flags", "--dir", d.path, "--iterations", "3", "--param",
                                         "extras=1", "--param", "nop_pct=0", "--json", json};
  auto r = run_diorace(base);
  EXPECT_EQ(r.status, 0) << r.output;
  auto res = load(json)["cases"][0];
  EXPECT_EQ(res["outcome"], "PASS");
  EXPECT_GT(res["ios"].get<int>(), 0);
  auto args = base;
  args.insert(args.end(), {"--inject-fault", "drop"});
  auto f = run_diorace(args);
  EXPECT_EQ(f.status, 1) << f.output;
  EXPECT_EQ(load(json)["cases"][0]["kind"], "corruption");
}

TEST(Cli, MatrixCaseReportsEachVariant) {
  TempDir d;
  std::string json = d.path + "/u.json";
  auto r = run_diorace({"run", "uring_fork", "--dir", d.path, "--iterations", "3", "--json", json});
  EXPECT_EQ(r.status, 0) << r.output;
  std::set<std::string> variants;
  auto doc = load(json);  // keep it alive: a range-for over load(json)["cases"] would dangle
  for (const auto& c : doc["cases"]) variants.insert(c["variant"].get<std::string>());
  EXPECT_EQ(variants, (std::set<std::string>{"plain", "fixed", "async", "sqpoll"}));
  auto one = run_diorace({"run", "uring_fork", "--dir", d.path, "--iterations", "2", "--param", "variant=fixed"});
  EXPECT_NE(one.output.find("uring_fork[fixed]"), std::string::npos);
  EXPECT_EQ(one.output.find("uring_fork[plain]"), std::string::npos);
}

TEST(Cli, SetUpErrorsAreReportedNotSwallowed) {
  TempDir d;
  // No mkfs on PATH: dio_wq_teardown says so.
  std::string old = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent", 1);
  auto r = run_diorace({"run", "dio_wq_teardown", "--dir", d.path, "--iterations", "1"});
  ::setenv("PATH", old.c_str(), 1);
  EXPECT_EQ(r.status, 4) << r.output;
  EXPECT_NE(r.output.find("mkfs.ext4 not found"), std::string::npos) << r.output;
  auto bad = run_diorace({"run", "dio_wq_teardown", "--dir", d.path, "--param", "write_kib=6"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("write_kib must be a multiple of 4"), std::string::npos);
  auto bad2 = run_diorace({"run", "ipi_storm", "--dir", d.path, "--param", "readers=64", "--param", "read_kib=1024"});
  EXPECT_EQ(bad2.status, 2);
  // Nothing of dio_wq_teardown's is left: no loop device over its image, no mount.
  auto loops = run_command({"losetup", "-a"});
  EXPECT_EQ(loops.output.find("diorace"), std::string::npos) << loops.output;
  EXPECT_EQ(read_file("/proc/self/mountinfo").find("diorace-dio_wq_teardown-mnt"), std::string::npos);
}

TEST(Cli, CoverageIsUnknownWithoutKprobes) {
  TempDir d;
  std::string json = d.path + "/c.json";
  auto r = run_diorace({"run", "dio_wq_teardown", "--dir", d.path, "--iterations", "2", "--json", json});
  EXPECT_EQ(r.status, 0) << r.output;
  auto c = load(json)["cases"][0];
  // This machine's kernel has no kprobe events: never an error, always said.
  if (::access("/sys/kernel/tracing/kprobe_events", W_OK) != 0)
    EXPECT_EQ(c["coverage"].get<std::string>().rfind("unknown", 0), 0u) << c.dump();
  else
    EXPECT_EQ(c["coverage"], "measured");
}

// The metadata arms the oracles: a case that reports a finding of an oracle
// it does not declare gets a harness ERROR, never a FAIL; the oracles a case
// declares are the ones that run (selftest_undeclared declares only hang).
TEST(Cli, DeclaredOraclesAreTheArmedOnes) {
  TempDir d;
  for (const char* which : {"data", "result"}) {
    std::string json = d.path + "/u.json";
    auto r = run_diorace({"run", "selftest_undeclared", "--dir", d.path, "--iterations", "2", "--param",
                          std::string("report=") + which, "--json", json});
    EXPECT_EQ(r.status, 2) << r.output;
    auto c = load(json)["cases"][0];
    EXPECT_EQ(c["outcome"], "ERROR") << c.dump(1);
    EXPECT_NE(c["reason"].get<std::string>().find(std::string("undeclared oracle '") + which + "'"), std::string::npos)
        << c.dump(1);
  }
  // Its kernel log is not read: the oracle is not declared.
  auto list = nlohmann::json::parse(run_diorace({"list", "--json", "--all"}).output);
  bool listed = false;
  for (const auto& c : list)
    if (c["name"] == "selftest_undeclared") {
      listed = true;
      EXPECT_EQ(c["oracles"], nlohmann::json::array({"hang"}));
    }
  EXPECT_TRUE(listed);
  std::string json = d.path + "/n.json";
  ASSERT_EQ(run_diorace({"run", "selftest_undeclared", "--dir", d.path, "--iterations", "1", "--param",
                         "report=result", "--json", json})
                .status,
            2);
  bool off = false;
  const auto doc = load(json);
  for (const auto& ev : doc["cases"][0]["events"])
    off |= ev["type"] == "note" && ev["text"].get<std::string>().find("kernel log oracle off") != std::string::npos;
  EXPECT_TRUE(off);
}

namespace {

// The words that start the lines of a command list ("  NAME SYNOPSIS ...").
std::vector<std::string> listed_names(const std::string& text, const std::string& after) {
  std::vector<std::string> names;
  std::istringstream is(text.substr(text.find(after) + after.size()));
  for (std::string line; std::getline(is, line);) {
    if (line.rfind("  ", 0) != 0 || line.size() < 3 || line[2] == ' ') continue;
    std::string name = line.substr(2, line.find(' ', 2) - 2);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

}  // namespace

// One command model: `help CMD`, `CMD --help`, the man page and the
// completion all come from the rows, for every command and subcommand; the
// guest binary's commands that are the program's rows say the same.
TEST(Cli, HelpManPageAndCompletionComeFromTheCommandRows) {
  auto usage = run_diorace({"help"});
  ASSERT_EQ(usage.status, 0) << usage.output;
  const auto names = listed_names(usage.output, "commands:\n");
  ASSERT_GE(names.size(), 19u) << usage.output;
  const std::string man = run_diorace({"manpage"}).output, completion = run_diorace({"completion", "bash"}).output;
  auto unroff = [](std::string s) {
    for (size_t i; (i = s.find("\\-")) != std::string::npos;) s.erase(i, 1);
    return s;
  };
  const std::string man_text = unroff(man);
  auto check = [&](const std::vector<std::string>& path) {
    std::vector<std::string> help_args = {"help"}, dash_args = path;
    help_args.insert(help_args.end(), path.begin(), path.end());
    dash_args.push_back("--help");
    auto h = run_diorace(help_args), d = run_diorace(dash_args);
    std::string joined;
    for (const auto& p : path) joined += " " + p;
    EXPECT_EQ(h.status, 0) << joined << "\n" << h.output;
    EXPECT_EQ(d.status, 0) << joined << "\n" << d.output;
    EXPECT_EQ(h.output, d.output) << joined;
    EXPECT_EQ(h.output.rfind("usage: diorace" + joined, 0), 0u) << h.output;
    // The man page carries the same text, line by line.
    std::istringstream is(h.output);
    for (std::string line; std::getline(is, line);)
      EXPECT_NE(man_text.find(line), std::string::npos) << joined << ": not in the man page: " << line;
    // Every long option the help lists is completed for its command.
    const std::string row = completion.substr(completion.find("    " + path[0] + ") opts="));
    const std::string opts = row.substr(0, row.find('\n'));
    static const std::regex opt(R"(^  (?:-[a-zA-Z] \[ )?(--[a-z][a-z0-9-]*))");
    is = std::istringstream(h.output);
    std::smatch m;
    for (std::string line; std::getline(is, line);) {
      if (std::regex_search(line, m, opt)) {
        EXPECT_TRUE(opts.find(m[1].str() + " ") != std::string::npos || opts.find(m[1].str() + "\"") != std::string::npos)
            << joined << ": " << m[1] << " not completed";
      }
    }
  };
  for (const auto& n : names) {
    check({n});
    auto sub = run_diorace({"help", n});
    if (sub.output.find("subcommands") == std::string::npos) continue;
    const auto subs = listed_names(sub.output, "subcommands");
    EXPECT_FALSE(subs.empty()) << sub.output;
    for (const auto& s : subs) {
      check({n, s});
      EXPECT_NE(completion.find(s), std::string::npos) << s;
    }
  }
  for (const auto& bad : std::vector<std::vector<std::string>>{{"help", "frobnicate"}, {"help", "results", "frob"},
                                                                {"results", "frob"}}) {
    auto r = run_diorace(bad);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
#ifdef DIORACE_STATIC_BIN
  for (const char* shared : {"replay", "minimize", "lava-report"}) {
    auto mine = run_diorace({shared, "--help"});
    auto guest = run_command({DIORACE_STATIC_BIN, shared, "--help"});
    EXPECT_EQ(guest.status, 0) << guest.output;
    EXPECT_EQ(guest.output, std::regex_replace(mine.output, std::regex("^usage: diorace "), "usage: diorace-static "));
  }
#endif
}

// What a package carries, from its own changelog (Debian's 6.1 and 6.12
// packages, downloaded once into the cache): ext4's inline-data fix is
// lacking on 6.1 (its stable backport failed) and carried on 6.12; the
// fork-vs-O_DIRECT fixes were merged upstream in 6.3 and 6.5, so 6.12
// carries them without listing them.
TEST(Distro, DescribeReadsTheRealChangelogsOf61And612) {
  auto ext4 = run_diorace({"describe", "ext4_inline_dio", "--store", "none", "--kernel",
                           "linux-image-6.1.0-50-cloud-amd64-unsigned", "--kernel",
                           "linux-image-6.12.107+deb12-amd64-unsigned"},
                          900);
  ASSERT_EQ(ext4.status, 0) << ext4.output;
  EXPECT_NE(ext4.output.find("changelog:  linux-image-6.1.0-50-cloud-amd64-unsigned: lacks ce56d21355cd (changelog 6.1.176-1)"),
            std::string::npos)
      << ext4.output;
  EXPECT_NE(ext4.output.find("changelog:  linux-image-6.12.107+deb12-amd64-unsigned: carries ce56d21355cd (changelog "
                             "6.12.107-1~deb12u1)"),
            std::string::npos)
      << ext4.output;
  auto fork = run_diorace({"describe", "dma_thread", "--store", "none", "--kernel",
                           "linux-image-6.1.0-50-cloud-amd64-unsigned", "--kernel",
                           "linux-image-6.12.107+deb12-amd64-unsigned"},
                          900);
  ASSERT_EQ(fork.status, 0) << fork.output;
  EXPECT_NE(fork.output.find(": lacks 920756a3306a, 1ccf164ec866 (changelog 6.1.176-1)"), std::string::npos)
      << fork.output;
  EXPECT_NE(fork.output.find(": carries 920756a3306a (mainline v6.3), 1ccf164ec866 (mainline v6.5) (changelog "
                             "6.12.107-1~deb12u1)"),
            std::string::npos)
      << fork.output;
  test::expect_one_line_exit2(run_diorace({"describe", "dma_thread", "--kernel", "6.1"}),
                        "describe --kernel: '6.1' is neither a Debian kernel package nor a series");
}
