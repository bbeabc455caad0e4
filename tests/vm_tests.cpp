// SPDX-License-Identifier: GPL-2.0-or-later
// VM tests: boot Debian kernels under qemu and prove each case against a
// kernel with the bug (6.1) and one with the fix (6.12), and the VM runner's
// own verdicts (crash, hang, boot failure). They download the kernel packages
// into the cache on first use (needs 'apt-get update' done: ci/setup does it).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "diorace/verdict.hpp"
#include "test_util.hpp"

using namespace diorace;
namespace fs = std::filesystem;

namespace {

constexpr const char* kBuggy = "linux-image-6.1.0-50-cloud-amd64-unsigned";
constexpr const char* kFixed = "linux-image-6.12.107+deb12-amd64-unsigned";

struct VmRun {
  int status;
  std::string output;
  nlohmann::json doc;
};

VmRun vm(std::vector<std::string> host, std::vector<std::string> guest, int timeout_s = 900, bool boot_again = true) {
  std::string json = "/var/tmp/diorace-vmtest-" + std::to_string(::getpid()) + ".json";
  fs::remove(json);
  std::vector<std::string> argv = {DIORACE_BIN, "vm"};
  argv.insert(argv.end(), host.begin(), host.end());
  argv.insert(argv.end(), {"--json", json, "--"});
  argv.insert(argv.end(), guest.begin(), guest.end());
  auto r = run_command(argv, std::chrono::seconds(timeout_s));
  // A guest that never reached the test (exit 3: under TCG, 6.12 boots now
  // and then die in a static-key patch before init) is no result: booted
  // once more, as prove does, and said.
  if (r.status == kExitNoBoot && boot_again) {
    std::printf("(the guest never reached the test; booting once more)\n%s\n", r.output.c_str());
    fs::remove(json);
    r = run_command(argv, std::chrono::seconds(timeout_s));
  }
  VmRun out{r.status, r.output, nullptr};
  std::string text;
  if (try_read_file(json, text)) out.doc = nlohmann::json::parse(text);
  fs::remove(json);
  std::printf("%s\n", r.output.c_str());
  return out;
}

const nlohmann::json& only_case(const VmRun& r, const std::string& name) {
  static const nlohmann::json none;
  for (const auto& c : r.doc["cases"])
    if (c["name"] == name) return c;
  ADD_FAILURE() << "no result for " << name << " in " << r.doc.dump();
  return none;
}

}  // namespace

TEST(VmDebian61, DmaThreadFailsWithCorruption) {
  auto r = vm({"--deb", kBuggy}, {"run", "dma_thread", "--duration", "60"});
  ASSERT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.doc["system"]["kernel"]["release"].get<std::string>().find("6.1.0-50"), std::string::npos);
  const auto& c = only_case(r, "dma_thread");
  EXPECT_EQ(c["outcome"], "FAIL");
  EXPECT_EQ(c["kind"], "corruption");
  EXPECT_EQ(c["events"][0]["class"], "fill_byte");
  EXPECT_FALSE(c["fault_injected"].get<bool>());
  EXPECT_LT(c["first_failure_s"].get<double>(), 10.0);
}

TEST(VmDebian61, ForkscrewCorruptsNineOfTenIterations) {
  auto r = vm({"--deb", kBuggy}, {"run", "forkscrew", "--iterations", "10", "--keep-going"});
  ASSERT_EQ(r.status, 1) << r.output;
  const auto& c = only_case(r, "forkscrew");
  EXPECT_EQ(c["outcome"], "FAIL");
  EXPECT_EQ(c["kind"], "corruption");
  EXPECT_EQ(c["iterations"], 10);
  EXPECT_GE(c["failures"].get<int>(), 9);
}

// 10 s each: on 6.1 both detect within 0.7 s of their start (10 of 10
// boots, README); the run was 60 s, then 30 s each, until CI had to fit in
// 45 minutes.
TEST(VmDebian612, BothCasesPassForTenSeconds) {
  auto r = vm({"--deb", kFixed}, {"run", "dma_thread", "forkscrew", "--duration", "10"}, 1200);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.doc["system"]["kernel"]["release"].get<std::string>().find("6.12.107"), std::string::npos);
  for (const char* name : {"dma_thread", "forkscrew"}) {
    const auto& c = only_case(r, name);
    EXPECT_EQ(c["outcome"], "PASS");
    EXPECT_GE(c["duration_s"].get<double>(), 10.0);
    EXPECT_GT(c["iterations"].get<int>(), 3);
    EXPECT_GT(c["forks"].get<int>(), 10);
  }
}

TEST(VmVerdicts, GuestPanicIsACrash) {
  const std::string store = "/var/tmp/diorace-vmtest-crash-" + std::to_string(::getpid()) + ".sqlite";
  auto r = vm({"--deb", kBuggy, "--timeout", "300", "--store", store}, {"run", "selftest_panic", "--iterations", "1"});
  // The host stores the crash under the guest kernel's identity.
  auto shown = run_command({DIORACE_BIN, "results", "show", "1", "--json", "--store", store});
  for (auto suffix : {"", "-wal", "-shm"}) fs::remove(store + suffix);
  ASSERT_EQ(shown.status, 0) << shown.output;
  auto stored = nlohmann::json::parse(shown.output);
  EXPECT_EQ(stored["run"]["mode"], "vm");
  EXPECT_EQ(stored["run"]["label"], kBuggy);
  EXPECT_NE(stored["system"]["kernel"]["release"].get<std::string>().find("6.1.0-50"), std::string::npos);
  ASSERT_EQ(stored["cases"].size(), 1u);
  EXPECT_EQ(stored["cases"][0]["kind"], "crash");
  ASSERT_EQ(r.status, 1) << r.output;
  const auto& c = only_case(r, "selftest_panic");
  EXPECT_EQ(c["kind"], "crash");
  EXPECT_NE(c["reason"].get<std::string>().find("Kernel panic"), std::string::npos);
  EXPECT_NE(c["events"][0]["text"].get<std::string>().find("sysrq"), std::string::npos);
  EXPECT_TRUE(fs::exists(r.doc["vm"]["console_log"].get<std::string>()));
}

TEST(VmVerdicts, GuestNotDoneBeforeTimeoutIsAHang) {
  auto r = vm({"--deb", kBuggy, "--timeout", "40"},
              {"run", "selftest_hang", "--iterations", "1", "--iteration-timeout", "3600"});
  ASSERT_EQ(r.status, 1) << r.output;
  const auto& c = only_case(r, "selftest_hang");
  EXPECT_EQ(c["kind"], "hang");
  EXPECT_TRUE(r.doc["vm"]["timed_out"].get<bool>());
}

TEST(VmVerdicts, MissingModulesNeverReachTheTestExit3) {
  fs::create_directories("/var/tmp/diorace-vmtest-empty-modules");
  auto r = vm({"--deb", kBuggy, "--modules", "/var/tmp/diorace-vmtest-empty-modules", "--timeout", "120"},
              {"run", "dma_thread", "--iterations", "1"}, 900, /*boot_again=*/false);
  fs::remove_all("/var/tmp/diorace-vmtest-empty-modules");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("never reached the test"), std::string::npos);
  EXPECT_NE(r.output.find("console tail"), std::string::npos);
}

TEST(VmVerdicts, BadGuestCommandIsAUsageErrorBeforeBooting) {
  auto r = vm({"--deb", kBuggy}, {"run", "nosuch"}, 60);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("unknown case 'nosuch'"), std::string::npos);
}

TEST(VmDebian61, UringForkPlainBuffersCorrupt) {
  auto r = vm({"--deb", kBuggy}, {"run", "uring_fork", "--param", "variant=plain", "--iterations", "10"});
  ASSERT_EQ(r.status, 1) << r.output;
  const auto& c = only_case(r, "uring_fork");
  EXPECT_EQ(c["variant"], "plain");
  EXPECT_EQ(c["kind"], "corruption");
}

// The dio workqueue allocation race is reached on stock kernels too: the
// coverage oracle (a kprobe on sb_init_dio_done_wq) counts the threads that
// raced into the allocation on each fresh mount.
TEST(VmCoverage, DioWqTeardownReachesTheRaceOnStockKernels) {
  for (const char* k : {kBuggy, kFixed}) {
    for (const char* fs : {"ext4", "xfs"}) {
      auto r = vm({"--deb", k}, {"run", "dio_wq_teardown", "--iterations", "5", "--param", std::string("fs=") + fs});
      ASSERT_EQ(r.status, 0) << k << " " << fs << "\n" << r.output;
      const auto& c = only_case(r, "dio_wq_teardown");
      EXPECT_EQ(c["coverage"], "measured") << k << " " << fs;
      EXPECT_GT(c["race_hits"].get<int>(), 0) << k << " " << fs;
      EXPECT_FALSE(c["detectors_armed"].get<bool>());  // stock kernels: no lockdep
    }
  }
}

// The KCSAN + lockdep debug kernels in ../shared/kernels. On 6.1 (io-wq
// race) iowq_flags must FAIL with its own KCSAN report within its default
// duration, and stop there; on 6.12 (fixed) it must PASS with its detector
// armed, any other KCSAN reports listed as unrelated findings.
// dio_wq_teardown reaches its race on the debug kernel too.
namespace {
std::string debug_kernel(const char* name) {
  for (const char* base : {"../../shared/kernels/", "../shared/kernels/", "/work/shared/kernels/"}) {
    std::string p = std::string(base) + name + "/bzImage";
    if (fs::exists(p)) return fs::absolute(p).string();
  }
  return "";
}
}  // namespace

TEST(VmDebugKernel, IowqFlagsFailsWithItsOwnRaceOn61) {
  std::string k = debug_kernel("linux-6.1.192-kcsan-lockdep");
  if (k.empty()) GTEST_SKIP() << "shared/kernels not present";
  // KCSAN samples: the report came in 12 of 13 boots within the case's 120 s
  // (one miss, the eighth session); the run stops at the report, so a longer
  // window costs only a boot that would have missed. CI saw 100, 192 and 399
  // s for this test; one access in 1000 watched instead of 4000
  // (kcsan.skip_watch, the detector's sampling, not the case) reported after
  // 3.6, 20 and 37 s in three boots here, beside 9.9, 90 and 140 s with the
  // default in three boots taken in turn with them (the tenth session).
  auto r = vm({"--kernel", k, "--timeout", "900", "--append", "kcsan.skip_watch=1000"},
              {"run", "iowq_flags", "--duration", "360"});
  ASSERT_EQ(r.status, 1) << r.output;
  const auto& c = only_case(r, "iowq_flags");
  EXPECT_EQ(c["outcome"], "FAIL");
  EXPECT_EQ(c["kind"], "splat");
  EXPECT_TRUE(c["detectors_armed"].get<bool>());
  EXPECT_NE(c["reason"].get<std::string>().find("its own race"), std::string::npos) << c["reason"];
  ASSERT_TRUE(c.contains("first_failure_s")) << c.dump();
  // Within the run's 360 s (CI's run of the eighth session: 192 s on a busy
  // 2-core machine); stopped at the report, not at the end of the run.
  EXPECT_LT(c["first_failure_s"].get<double>(), 360.0);
  EXPECT_LT(c["duration_s"].get<double>(), c["first_failure_s"].get<double>() + 10.0);
  bool own = false;
  for (const auto& ev : c["events"]) {
    if (ev["type"] != "splat" || !ev["own_race"].get<bool>()) continue;
    own = true;
    const std::string text = ev["text"];
    EXPECT_NE(text.find("BUG: KCSAN: data-race in"), std::string::npos) << text;
    EXPECT_NE(text.find("io_wqe_activate_free_worker"), std::string::npos) << text;
    EXPECT_TRUE(text.find("io_worker_handle_work") != std::string::npos ||
                text.find("io_wq_worker_running") != std::string::npos)
        << text;
  }
  EXPECT_TRUE(own) << c.dump();
}

TEST(VmDebugKernel, DioWqTeardownReachesTheRaceOn61) {
  std::string k = debug_kernel("linux-6.1.192-kcsan-lockdep");
  if (k.empty()) GTEST_SKIP() << "shared/kernels not present";
  for (const char* fs : {"ext4", "xfs"}) {
    auto r = vm({"--kernel", k, "--timeout", "900"},
                {"run", "dio_wq_teardown", "--iterations", "5", "--param", std::string("fs=") + fs});
    ASSERT_EQ(r.status, 0) << fs << "\n" << r.output;
    const auto& c = only_case(r, "dio_wq_teardown");
    EXPECT_EQ(c["coverage"], "measured") << fs;
    EXPECT_GT(c["race_hits"].get<int>(), 0) << fs;
    EXPECT_TRUE(c["detectors_armed"].get<bool>()) << fs;  // lockdep armed: and silent on this race
  }
}

TEST(VmDebugKernel, IowqFlagsPassesArmedOn612) {
  std::string k = debug_kernel("linux-6.12.117-kcsan-lockdep");
  if (k.empty()) GTEST_SKIP() << "shared/kernels not present";
  // 60 s, the PASS control its metadata declares (the default run is 120 s).
  auto r = vm({"--kernel", k, "--timeout", "900"}, {"run", "iowq_flags", "--duration", "60"});
  ASSERT_EQ(r.status, 0) << r.output;
  const auto& c = only_case(r, "iowq_flags");
  EXPECT_EQ(c["outcome"], "PASS");
  EXPECT_TRUE(c["detectors_armed"].get<bool>());
  for (const auto& ev : c["events"]) {
    if (ev["type"] == "splat") {
      EXPECT_TRUE(ev["unrelated"].get<bool>()) << ev.dump();
    }
  }
}

// The store keeps VM runs under the guest kernel's identity, and a comparison
// of the two kernels names the fork-vs-O_DIRECT cases as fixed in 6.12.
TEST(VmStore, CompareNamesTheForkCasesFixedIn612) {
  const std::string dir = "/var/tmp/diorace-vmtest-store-" + std::to_string(::getpid());
  fs::create_directories(dir);
  const std::string store = dir + "/s.sqlite";
  auto host = run_command({DIORACE_BIN, "run", "dma_thread", "--duration", "2", "--store", store, "-q"});
  EXPECT_EQ(host.status, 0) << host.output;
  auto bad = vm({"--deb", kBuggy, "--store", store, "--junit", dir + "/61.xml", "--kcidb", dir + "/61-kcidb.json"},
                // Up to 40 iterations, each case stopping at its first failure: dma_thread
                // corrupts about 1 iteration in 4 on 6.1 here (4-8 of 30 in 6 boots of
                // the ninth session), so 5 missed it in 1 boot of 4.
                {"run", "dma_thread", "forkscrew", "--iterations", "40"});
  EXPECT_EQ(bad.status, 1) << bad.output;
  auto good = vm({"--deb", kFixed, "--store", store}, {"run", "dma_thread", "forkscrew", "--iterations", "5"});
  EXPECT_EQ(good.status, 0) << good.output;
  auto list = run_command({DIORACE_BIN, "results", "list", "--store", store});
  std::printf("%s\n", list.output.c_str());
  EXPECT_NE(list.output.find("6.1.0-50-cloud-amd64"), std::string::npos) << list.output;
  EXPECT_NE(list.output.find("6.12.107"), std::string::npos) << list.output;
  auto cmp = run_command({DIORACE_BIN, "results", "compare", "--kernel", kBuggy, "--kernel", kFixed, "--json",
                          "--store", store});
  ASSERT_EQ(cmp.status, 0) << cmp.output;
  auto j = nlohmann::json::parse(cmp.output);
  std::set<std::string> fixed;
  for (const auto& row : j["comparison"]["fixed"]) fixed.insert(row["case"].get<std::string>());
  EXPECT_EQ(fixed, (std::set<std::string>{"dma_thread", "forkscrew"})) << cmp.output;
  EXPECT_TRUE(j["comparison"]["regressed"].empty());
  auto x = run_command({"xmllint", "--noout", "--schema", DIORACE_SOURCE_DIR "/tests/schemas/junit.xsd", dir + "/61.xml"});
  EXPECT_EQ(x.status, 0) << x.output;
  EXPECT_NE(read_file(dir + "/61.xml").find("type=\"corruption\""), std::string::npos);
  // KCIDB from a vm run, checked against KCIDB's own schema.
  auto k = run_command({"/usr/bin/python3", DIORACE_SOURCE_DIR "/tests/schemas/validate_kcidb.py", DIORACE_KCIDB_SCHEMA,
                        dir + "/61-kcidb.json"});
  EXPECT_EQ(k.status, 0) << k.output;
  EXPECT_NE(k.output.find("2 tests"), std::string::npos) << k.output;
  fs::remove_all(dir);
}

// A real bisection over Debian kernels (a shortened list: two 6.1 builds with
// the fork-vs-O_DIRECT bug, then 6.12 with the fix) names the first fixed
// kernel, and an interrupted bisection resumes from its log without booting
// again for the runs it already has.
TEST(VmBisect, NamesTheFirstFixedDebianKernelAndResumes) {
  const std::string dir = "/var/tmp/diorace-vmtest-bisect-" + std::to_string(::getpid());
  fs::create_directories(dir);
  const std::string store = dir + "/s.sqlite";
  const std::vector<std::string> kernels = {kBuggy, "linux-image-6.1.0-56-cloud-amd64-unsigned", kFixed};
  std::vector<std::string> argv = {DIORACE_BIN, "bisect", "--case", "dma_thread", "--duration", "5", "--store", store,
                                   "--kernels"};
  argv.insert(argv.end(), kernels.begin(), kernels.end());
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_command(argv, std::chrono::seconds(1500));
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s\nbisection wall time %.0f s\n", r.output.c_str(), wall);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(std::string("first FIXED kernel: ") + kFixed), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("calibrated"), std::string::npos);
  // The same request again: the finished bisection is not resumed, a new one
  // starts; with --max-runs 2 it stops early, and the next call resumes it,
  // replaying the two logged runs instead of booting.
  auto cut = argv;
  cut.insert(cut.end(), {"--max-runs", "2"});
  auto partial = run_command(cut, std::chrono::seconds(600));
  EXPECT_EQ(partial.status, 2) << partial.output;
  EXPECT_NE(partial.output.find("--max-runs reached"), std::string::npos) << partial.output;
  auto resumed = run_command(cut, std::chrono::seconds(600));
  EXPECT_NE(resumed.output.find("replaying 2 logged runs"), std::string::npos) << resumed.output;
  EXPECT_EQ(resumed.output.find("booting"), std::string::npos) << "a replayed run booted a VM:\n" << resumed.output;
  fs::remove_all(dir);
}

// `git bisect run` with `diorace bisect-step` on a small synthetic history:
// its "build" picks the kernel named in kernel.txt; one commit's build fails
// (skipped, 125). Looking for the fix with --terms fixed.
TEST(VmBisect, GitBisectRunFindsTheFixingCommit) {
  ASSERT_TRUE(have_program("git"));
  const std::string repo = "/var/tmp/diorace-vmtest-git-" + std::to_string(::getpid());
  fs::remove_all(repo);
  fs::create_directories(repo);
  auto git = [&](std::vector<std::string> a) {
    a.insert(a.begin(), {"git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid"});
    return run_command(a);
  };
  ASSERT_EQ(git({"init", "-q"}).status, 0);
  // c0..c2 boot 6.1 (broken), c3..c5 boot 6.12 (fixed); c4's build fails.
  for (int i = 0; i < 6; ++i) {
    write_file(repo + "/kernel.txt", std::string(i < 3 ? kBuggy : kFixed) + "\n");
    write_file(repo + "/build.sh", i == 4 ? "echo 'build broken on purpose' >&2; exit 1\n" : "exit 0\n");
    write_file(repo + "/history.txt", "commit " + std::to_string(i) + "\n");
    git({"add", "-A"});
    ASSERT_EQ(git({"commit", "-qm", "c" + std::to_string(i)}).status, 0);
  }
  auto first_fixed = git({"rev-parse", "HEAD~2"}).output;  // c3
  first_fixed = first_fixed.substr(0, first_fixed.find('\n'));
  ASSERT_EQ(git({"bisect", "start", "--term-old=broken", "--term-new=fixed", "HEAD", "HEAD~5"}).status, 0);
  auto r = git({"bisect", "run", DIORACE_BIN, "bisect-step", "--case", "dma_thread", "--terms", "fixed",
                "--build-cmd", "sh build.sh", "--kernel", "@kernel.txt", "--runs", "2", "--duration", "5", "--store",
                "none"});
  std::printf("%s\n", r.output.c_str());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(first_fixed + " is the first fixed commit"), std::string::npos) << r.output;
  git({"bisect", "reset"});
  fs::remove_all(repo);
}

// ci/nightly over Debian 6.1 and 6.12: the report, JUnit and KCIDB files,
// dma_thread and forkscrew fixed between the kernels; a second night with the
// same results reports no regression; a night whose 6.12 run fails (the
// fault injector stands in for a regressed kernel) exits 1.
TEST(VmNightly, TwoNightsOver61And612ThenARegression) {
  const std::string dir = "/var/tmp/diorace-vmtest-nightly-" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string store = dir + "/s.sqlite";
  const std::string kernels = std::string(kBuggy) + " " + kFixed;
  auto night = [&](const std::string& name, const std::string& extra) {
    std::vector<std::string> argv = {DIORACE_SOURCE_DIR "/ci/nightly", "--kernels", kernels, "--cases",
                                     "dma_thread forkscrew", "--duration", "10", "--store", store, "--out",
                                     dir + "/" + name};
    if (!extra.empty()) argv.insert(argv.end(), {"--run-args", extra});
    auto r = run_command(argv, std::chrono::seconds(900));
    std::printf("%s\n", r.output.c_str());
    return r;
  };
  auto first = night("n1", "");
  EXPECT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("FIXED          dma_thread"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("FIXED          forkscrew"), std::string::npos) << first.output;
  for (const char* f : {"/n1/report.html", "/n1/junit.xml", "/n1/kcidb.json"})
    EXPECT_TRUE(fs::exists(dir + f)) << f;
  auto x = run_command({"xmllint", "--noout", "--schema", DIORACE_SOURCE_DIR "/tests/schemas/junit.xsd", dir + "/n1/junit.xml"});
  EXPECT_EQ(x.status, 0) << x.output;
  auto k = run_command({"/usr/bin/python3", DIORACE_SOURCE_DIR "/tests/schemas/validate_kcidb.py", DIORACE_KCIDB_SCHEMA,
                        dir + "/n1/kcidb.json"});
  EXPECT_EQ(k.status, 0) << k.output;
  auto second = night("n2", "");
  EXPECT_EQ(second.status, 0) << second.output;
  EXPECT_EQ(second.output.find("REGRESSED"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("no regression since the previous night"), std::string::npos) << second.output;
  auto third = night("n3", "--inject-fault flip");
  EXPECT_EQ(third.status, 1) << third.output;
  EXPECT_NE(third.output.find("REGRESSED"), std::string::npos) << third.output;
  fs::remove_all(dir);
}

// `vm -- exec` (what ci/bench runs the original reproducers with): a staged
// static program runs in the guest's scratch directory; the report says when
// its output first matched --detect, or when it exited with --detect-exit.
TEST(VmVerdicts, ExecReportsDetectionByOutputAndByExitStatus) {
  const std::string prog = "/var/tmp/diorace-vmtest-exec-" + std::to_string(::getpid()) + ".sh";
  write_file(prog, "#!/bin/sh\necho starting\nsleep 1\necho 'Bad data at 0x000200'\nexit 3\n");
  auto by_output = vm({"--deb", kBuggy, "--store", "none", "--stage", prog},
                      {"exec", "--detect", "Bad data", "--limit", "60", "--", "sh", "/staged/" + fs::path(prog).filename().string()});
  EXPECT_EQ(by_output.status, 1) << by_output.output;
  ASSERT_TRUE(by_output.doc.contains("exec")) << by_output.output;
  EXPECT_TRUE(by_output.doc["exec"]["detected"].get<bool>());
  EXPECT_GE(by_output.doc["exec"]["detect_s"].get<double>(), 0.9);
  EXPECT_EQ(by_output.doc["exec"]["status"], 3);
  auto by_exit = vm({"--deb", kBuggy, "--store", "none", "--stage", prog},
                    {"exec", "--detect", "never printed", "--detect-exit", "3", "--", "sh",
                     "/staged/" + fs::path(prog).filename().string()});
  EXPECT_EQ(by_exit.status, 1) << by_exit.output;
  auto none = vm({"--deb", kBuggy, "--store", "none", "--stage", prog},
                 {"exec", "--detect", "never printed", "--", "sh", "/staged/" + fs::path(prog).filename().string()});
  EXPECT_EQ(none.status, 0) << none.output;
  EXPECT_FALSE(none.doc["exec"]["detected"].get<bool>());
  fs::remove(prog);
}

// The four Direct-I/O bugs Debian 6.1 still has (RACES.md): each case FAILs
// on 6.1 with its own oracle's evidence, in one boot.
TEST(VmNewRaces, EachFailsOn61WithItsOwnEvidence) {
  auto r = vm({"--deb", kBuggy},
              {"run", "ext4_inline_dio", "uring_iopoll_eof", "loop_dio_freeze", "uffd_dio_release", "prog_iopoll_eof",
               "prog_uffd_release_hang", "prog_fork_dio_read", "prog_loop_dio_freeze", "--duration", "60"});
  EXPECT_EQ(r.status, 1) << r.output;
  struct Want {
    std::string key, kind, evidence;
  } want[] = {
      {"ext4_inline_dio", "wrong_result", "returned -34 (Numerical result out of range) where 4096 is owed"},
      {"uring_iopoll_eof[ext4]", "wrong_result", "io_uring IOPOLL read returned 0 where 4096 is owed"},
      {"uring_iopoll_eof[xfs]", "wrong_result", "io_uring IOPOLL read returned 0 where 4096 is owed"},
      {"uring_iopoll_eof[target]", "wrong_result", "io_uring IOPOLL read returned 0 where"},
      {"loop_dio_freeze", "not_blocked", "completed while its backing ext4 was frozen"},
      {"uffd_dio_release", "hang", "userfaultfd_release"},
      // explore's minimized finding, a program case (repro/programs)
      {"prog_iopoll_eof", "wrong_result", "(read.direct.uring-iopoll): 0 bytes where 5120 were owed"},
      {"prog_uffd_release_hang", "hang", "userfaultfd_release"},
      {"prog_fork_dio_read", "corruption", "(read.direct.libaio): "},
      {"prog_loop_dio_freeze", "not_blocked", "completed while the filesystem was frozen"},
  };
  for (const auto& w : want) {
    const nlohmann::json* c = nullptr;
    for (const auto& x : r.doc["cases"])
      if (x["name"].get<std::string>() + (x["variant"].get<std::string>().empty() ? "" : "[" + x["variant"].get<std::string>() + "]") == w.key)
        c = &x;
    ASSERT_NE(c, nullptr) << w.key << " has no result";
    EXPECT_EQ((*c)["outcome"], "FAIL") << w.key;
    ASSERT_FALSE((*c)["events"].empty()) << w.key;
    // The loop program's write may begin before FIFREEZE returns (its hint
    // waits 250 ms at most: seen with two guests on two cores): the model
    // then proves no window, and the first evidence is the bug's own
    // WARNING, which its metadata declares as its own race.
    const auto& e0 = (*c)["events"][0];
    if (w.key == "prog_loop_dio_freeze" && e0["type"] == "splat" && e0.value("own_race", false)) {
      EXPECT_EQ((*c)["kind"], "splat");
      EXPECT_NE(e0["text"].get<std::string>().find("ext4_journal_check_start"), std::string::npos) << e0.dump();
      continue;
    }
    EXPECT_EQ((*c)["kind"], w.kind) << w.key;
    EXPECT_EQ(e0["type"], "finding") << w.key;
    EXPECT_NE(e0["text"].get<std::string>().find(w.evidence), std::string::npos) << w.key << ": " << e0.dump();
    EXPECT_FALSE((*c)["fault_injected"].get<bool>()) << w.key;
  }
  // The hung child was recovered by SIGKILL, and its stacks show the livelock.
  for (const auto& x : r.doc["cases"])
    if (x["name"] == "uffd_dio_release" || x["name"] == "prog_uffd_release_hang") {
      EXPECT_TRUE(x["events"][0]["detail"]["recovered"].get<bool>()) << x["name"];
      // The GUP thread spins (livelock): it shows in get_user_pages, or running.
      const std::string text = x["events"][0]["text"].get<std::string>();
      EXPECT_TRUE(text.find("get_user_pages") != std::string::npos || text.find(" state R ") != std::string::npos)
          << text;
    }
}

// ... and PASSes on 6.12.107, which has every fix, running each case for its
// time: 8 s each (15 s until CI had to fit in 45 minutes; on 6.1 all ten
// detect within 32 s of one boot, the boot included).
TEST(VmNewRaces, EachPassesOn612) {
  auto r = vm({"--deb", kFixed},
              {"run", "ext4_inline_dio", "uring_iopoll_eof", "loop_dio_freeze", "uffd_dio_release", "prog_iopoll_eof",
               "prog_uffd_release_hang", "prog_fork_dio_read", "prog_loop_dio_freeze", "--duration", "8"});
  EXPECT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(r.doc["cases"].size(), 10u) << r.doc.dump();
  for (const auto& c : r.doc["cases"]) {
    EXPECT_EQ(c["outcome"], "PASS") << c.dump();
    EXPECT_GT(c["iterations"].get<int>(), 3) << c.dump();
    EXPECT_GE(c["duration_s"].get<double>(), 8.0) << c.dump();
  }
}

// diorace prove boots a case's declared controls and prints the proof table.
// The FAIL control runs first; its time to detection sets how long the PASS
// control runs (here the floor: loop_dio_freeze detects in well under a
// second on 6.1); each row says what the package's changelog carries.
TEST(VmProve, ProvesLoopDioFreezeOnItsControls) {
  const std::string dir = "/var/tmp/diorace-vmtest-prove-" + std::to_string(::getpid());
  fs::create_directories(dir);
  auto r = run_command({DIORACE_BIN, "prove", "loop_dio_freeze", "--store", dir + "/s.sqlite", "--markdown",
                        dir + "/proof.md", "--jobs", "2"},
                       std::chrono::seconds(600));
  std::printf("%s\n", r.output.c_str());
  EXPECT_EQ(r.status, 0) << r.output;
  const std::string md = read_file(dir + "/proof.md");
  EXPECT_NE(md.find("| `loop_dio_freeze` | linux-image-6.1.0-50-cloud-amd64-unsigned | FAIL not_blocked | FAIL "
                    "not_blocked | **1/1** |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| `loop_dio_freeze` | linux-image-6.12.107+deb12-amd64-unsigned | PASS | PASS | **1/1** |"),
            std::string::npos)
      << md;
  // The floor (5 s), from the measured rate; the clean run ends at the first
  // iteration boundary past it (5.2 s beside another VM).
  EXPECT_TRUE(std::regex_search(md, std::regex(R"(\| 5\.[0-9] \(P\(miss\) )"))) << md;
  EXPECT_NE(md.find("| lacks 39d86db34e41, c4706c5058a7 (changelog 6.1.176-1)"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| carries 39d86db34e41, c4706c5058a7 (changelog 6.12.107-1~deb12u1)"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("disagrees"), std::string::npos) << md;
  auto list = run_command({DIORACE_BIN, "results", "list", "--store", dir + "/s.sqlite", "--json"});
  const auto runs = nlohmann::json::parse(list.output);
  EXPECT_EQ(runs.size(), 2u) << list.output;
  for (const auto& run : runs) {
    auto show = nlohmann::json::parse(
        run_command({DIORACE_BIN, "results", "show", std::to_string(run["id"].get<int>()), "--store", dir + "/s.sqlite",
                     "--json"})
            .output);
    const auto& c = show["cases"][0];
    if (c["outcome"] == "PASS") {
      EXPECT_LT(c["duration_s"].get<double>(), 7.0) << c.dump(1);  // 5 s, not the declared 60
      EXPECT_EQ(c["kernel_fix_state"], "carried") << c.dump(1);
    } else {
      EXPECT_EQ(c["kernel_fix_state"], "lacking") << c.dump(1);
    }
  }
  fs::remove_all(dir);
}

// A doctored declaration (selftest_series: "the bug shows on the newest
// Debian 6.12"): prove --latest resolves the series to the newest package
// apt-cache offers and says the bug no longer shows there, beside what the
// package's changelog says; not a plain PASS or FAIL.
TEST(VmProve, LatestSaysWhenADeclaredBugNoLongerShows) {
  const std::string newest =
      test::sh("apt-cache pkgnames linux-image-6.12. | grep -E '^linux-image-6\\.12\\.[0-9]+\\+deb[0-9]+-amd64-unsigned$' "
               "| sort -V | tail -1");
  ASSERT_FALSE(newest.empty());
  const std::string dir = "/var/tmp/diorace-vmtest-latest-" + std::to_string(::getpid());
  fs::create_directories(dir);
  auto r = run_command({DIORACE_BIN, "prove", "selftest_series", "--latest", "--store", dir + "/s.sqlite",
                        "--markdown", dir + "/proof.md"},
                       std::chrono::seconds(600));
  std::printf("%s\n", r.output.c_str());
  EXPECT_EQ(r.status, 1) << r.output;  // a control not met
  const std::string md = read_file(dir + "/proof.md");
  EXPECT_NE(md.find("| `selftest_series` | debian:6.12-amd64 → " + newest + " ("), std::string::npos) << md;
  EXPECT_NE(md.find("| FAIL | PASS — **no longer shows the bug: fixed in this package?** | 0/1 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| carries ce56d21355cd (changelog "), std::string::npos) << md;
  EXPECT_NE(r.output.find("selftest_series on debian:6.12-amd64 (" + newest), std::string::npos) << r.output;
  auto show = run_command({DIORACE_BIN, "results", "show", "1", "--store", dir + "/s.sqlite"});
  EXPECT_NE(show.output.find("the package carries ce56d21355cd"), std::string::npos) << show.output;
  EXPECT_NE(show.output.find(newest), std::string::npos) << show.output;
  // The run is stored under the package it resolved to; describe finds it per series.
  auto d = run_command({DIORACE_BIN, "describe", "selftest_series", "--store", dir + "/s.sqlite"});
  EXPECT_NE(d.output.find("history:    debian:6.12-amd64: newest FAIL none stored; first PASS " + newest),
            std::string::npos)
      << d.output;
  // And the report: its per-series table and the result's changelog check.
  auto rep = run_command({DIORACE_BIN, "report", "--html", dir + "/r.html", "--store", dir + "/s.sqlite"});
  ASSERT_EQ(rep.status, 0) << rep.output;
  const std::string html = read_file(dir + "/r.html");
  EXPECT_NE(html.find("\"first_pass\":\"" + newest + "\""), std::string::npos);
  EXPECT_NE(html.find("\"series\":\"debian:6.12-amd64\""), std::string::npos);
  EXPECT_NE(html.find("\"kernel_fix_state\":\"carried\""), std::string::npos);
  fs::remove_all(dir);
  // A proof not met keeps its boot logs for the reader: this one's go.
  const std::string kept = "boot logs kept in ";
  if (auto at = r.output.find(kept); at != std::string::npos)
    fs::remove_all(r.output.substr(at + kept.size(), r.output.find('\n', at) - at - kept.size()));
}

// Real storage paths: the scratch disk on an emulated NVMe controller, the
// guest kernel's own nvme driver underneath; the cases on the filesystem
// and on the raw disk (--guest-device), detection on 6.1, PASS on 6.12.
TEST(VmBuses, DmaThreadOnNvmeDetectsOn61AndPassesOn612) {
  auto fs61 = vm({"--deb", kBuggy, "--store", "none", "--disk-bus", "nvme"}, {"run", "dma_thread", "--duration", "60"});
  ASSERT_EQ(fs61.status, 1) << fs61.output;
  EXPECT_EQ(fs61.doc["vm"]["disk_bus"], "nvme");
  EXPECT_EQ(only_case(fs61, "dma_thread")["kind"], "corruption");
  auto raw61 = vm({"--deb", kBuggy, "--store", "none", "--disk-bus", "nvme", "--guest-device", "disk"},
                  {"run", "dma_thread", "--duration", "60"});
  ASSERT_EQ(raw61.status, 1) << raw61.output;
  EXPECT_EQ(only_case(raw61, "dma_thread")["kind"], "corruption");
  EXPECT_EQ(raw61.doc["target"]["kind"], "device");
  EXPECT_EQ(raw61.doc["target"]["device"], "/dev/nvme0n1");
  EXPECT_EQ(raw61.doc["target"]["device_info"]["bus"], "nvme");
  EXPECT_EQ(raw61.doc["target"]["device_info"]["model"], "QEMU NVMe Ctrl");
  auto raw612 = vm({"--deb", kFixed, "--store", "none", "--disk-bus", "nvme", "--guest-device", "disk"},
                   {"run", "dma_thread", "--duration", "30"});
  ASSERT_EQ(raw612.status, 0) << raw612.output;
  const auto& c = only_case(raw612, "dma_thread");
  EXPECT_EQ(c["outcome"], "PASS");
  EXPECT_GT(c["iterations"].get<int>(), 10);
  EXPECT_EQ(raw612.doc["target"]["device_info"]["bus"], "nvme");
}

// The device safety checks on the names real drivers give, inside the
// guest (tests/guest/device_safety.sh): a mounted partition of the NVMe
// disk refuses the disk and the partition, naming the partition; an ext4
// signature on the SCSI disk refuses it; forced, it runs. The disk's
// checksum, taken in the guest, is unchanged by every refusal (and changed
// by the forced run: the checksum sees writes).
TEST(VmBuses, DeviceSafetyHoldsOnNvmeAndScsiNames) {
  const std::string script = DIORACE_SOURCE_DIR "/tests/guest/device_safety.sh";
  auto checks = [](const VmRun& r) {
    std::map<std::string, std::string> out;
    std::istringstream is(r.doc["exec"]["output_tail"].get<std::string>());
    for (std::string line; std::getline(is, line);)
      if (line.rfind("CHECK ", 0) == 0) out[line.substr(6, line.find(' ', 6) - 6)] = line;
    return out;
  };
  auto nvme = vm({"--deb", kBuggy, "--store", "none", "--disk-bus", "nvme", "--guest-device", "partition",
                  "--disk-size", "64M", "--stage", script},
                 {"exec", "--limit", "300", "--", "sh", "/staged/device_safety.sh", "mounted-partition"});
  ASSERT_EQ(nvme.status, 0) << nvme.output;
  auto n = checks(nvme);
  ASSERT_EQ(n.size(), 2u) << nvme.doc["exec"].dump();
  for (const auto& [name, line] : n) {
    EXPECT_NE(line.find("rc=2 sum=same"), std::string::npos) << line;
    EXPECT_NE(line.find("refusing to write"), std::string::npos) << line;
  }
  EXPECT_NE(n["disk-with-mounted-partition"].find("/dev/nvme0n1: its partition nvme0n1p1 is mounted at /m"),
            std::string::npos) << n["disk-with-mounted-partition"];
  EXPECT_NE(n["mounted-partition"].find("/dev/nvme0n1p1: it is mounted at /m"), std::string::npos)
      << n["mounted-partition"];
  auto scsi = vm({"--deb", kFixed, "--store", "none", "--disk-bus", "scsi", "--guest-device", "disk", "--disk-size",
                  "64M", "--stage", script},
                 {"exec", "--limit", "300", "--", "sh", "/staged/device_safety.sh", "signature"});
  ASSERT_EQ(scsi.status, 0) << scsi.output;
  auto s = checks(scsi);
  ASSERT_EQ(s.size(), 2u) << scsi.doc["exec"].dump();
  EXPECT_NE(s["disk-with-signature"].find("rc=2 sum=same"), std::string::npos) << s["disk-with-signature"];
  EXPECT_NE(s["disk-with-signature"].find("/dev/sda: it carries a filesystem signature (ext4)"), std::string::npos)
      << s["disk-with-signature"];
  EXPECT_NE(s["disk-forced"].find("rc=0 sum=CHANGED"), std::string::npos) << s["disk-forced"];
}

// Many VMs on one host: `prove --jobs 2` (two VMs at once, each with its own
// disks, console and stored run) gives the verdicts `--jobs 1` gives.
TEST(VmJobs, TwoVmsAtOnceGiveTheVerdictsOfOne) {
  const std::string dir = "/var/tmp/diorace-vmtest-jobs-" + std::to_string(::getpid());
  fs::create_directories(dir);
  std::map<std::string, std::string> rows[2];
  for (int j = 0; j < 2; ++j) {
    const std::string n = std::to_string(j + 1);
    auto r = run_command({DIORACE_BIN, "prove", "uring_iopoll_eof", "loop_dio_freeze", "--kernel", kBuggy, "--boots",
                          "2", "--jobs", n, "--store", dir + "/s" + n + ".sqlite", "--markdown", dir + "/p" + n + ".md"},
                         std::chrono::seconds(900));
    EXPECT_EQ(r.status, 0) << r.output;
    std::istringstream is(read_file(dir + "/p" + n + ".md"));
    for (std::string line; std::getline(is, line);) {
      if (line.rfind("| `", 0) != 0) continue;
      // case | kernel | expected | got | met: the columns that must agree.
      std::vector<std::string> cols;
      for (size_t s = 1, e; (e = line.find(" | ", s)) != std::string::npos && cols.size() < 5; s = e + 3)
        cols.push_back(line.substr(s, e - s));
      rows[j][cols[0]] = cols[2] + " / " + cols[3] + " / " + cols[4];
    }
    auto list = run_command({DIORACE_BIN, "results", "list", "--store", dir + "/s" + n + ".sqlite", "--json"});
    EXPECT_EQ(nlohmann::json::parse(list.output).size(), 4u) << list.output;  // every boot stored
  }
  EXPECT_EQ(rows[0].size(), 4u);  // loop_dio_freeze and uring_iopoll_eof's three variants
  EXPECT_EQ(rows[0], rows[1]);
  fs::remove_all(dir);
}

// `bisect --jobs 2`: a step's runs of one kernel boot side by side (as
// `diorace vm` children, each storing its own run) and the bisection names
// the same fix as one VM at a time does (VmBisect above); `bisect-step
// --jobs 2` stops at a failure in its batch.
TEST(VmJobs, BisectBootsAStepsRunsSideBySide) {
  const std::string dir = "/var/tmp/diorace-vmtest-bisect-jobs-" + std::to_string(::getpid());
  fs::create_directories(dir);
  const std::string store = dir + "/s.sqlite";
  // A bisection stopped (SIGTERM) while its VMs run stops them, removes its
  // work directory and exits 2 saying so (the store keeps its log).
  {
    UniqueFd out(::open((dir + "/killed.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ChildProcess killed = spawn({.argv = {DIORACE_BIN, "bisect", "--case", "dma_thread", "--duration", "60", "--store",
                                          dir + "/killed.sqlite", "--jobs", "2", "--p-low", "0.9", "--kernels", kFixed,
                                          kBuggy},
                                 .stdout_fd = out.get(), .stderr_fd = out.get()});
    std::string text;
    for (int i = 0; i < 600 && text.find("booting 2 side by side") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      (void)try_read_file(dir + "/killed.log", text);
    }
    std::this_thread::sleep_for(std::chrono::seconds(3));  // the VMs are booting
    ASSERT_EQ(::kill(killed.pid(), SIGTERM), 0);
    const auto t0 = std::chrono::steady_clock::now();
    const int status = killed.wait();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
    (void)try_read_file(dir + "/killed.log", text);
    EXPECT_NE(text.find("bisect interrupted"), std::string::npos) << text;
    EXPECT_EQ(run_command({"pgrep", "-f", dir + "/killed.sqlite"}).output, "") << "a VM of the killed bisection runs on";
    EXPECT_EQ(run_command({"sh", "-c", "ls -d /var/tmp/diorace-bisect-* 2>/dev/null | wc -l"}).output, "0\n");
  }
  // Two TCG guests on 2 cores: dma_thread's first failure on 6.1 came after
  // 2.3 to 22 s (two 5 s runs of bisect-step both missed it in the eighth
  // session's CI). A run stops at its first failure, so a longer duration
  // costs only the clean runs of 6.12; the bisection itself counts misses.
  auto r = run_command({DIORACE_BIN, "bisect", "--case", "dma_thread", "--duration", "10", "--store", store, "--jobs",
                        "2", "--p-low", "0.9", "--kernels", kBuggy, kFixed},
                       std::chrono::seconds(900));
  std::printf("%s\n", r.output.c_str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(std::string("first FIXED kernel: ") + kFixed), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(std::string("booting 2 side by side: ") + kFixed), std::string::npos) << r.output;
  auto bisections = nlohmann::json::parse(
      run_command({DIORACE_BIN, "results", "bisections", "--json", "--store", store}).output);
  ASSERT_EQ(bisections.size(), 1u);
  const auto& result = bisections[0]["result"];
  EXPECT_EQ(result["jobs"], 2);
  const int64_t used = result["runs"].get<int64_t>(), booted = result["booted"].get<int64_t>();
  EXPECT_GE(used, 3);  // a failure of 6.1, then 6.12 clean twice (p >= 0.9, 95 %)
  EXPECT_GE(booted, used);
  EXPECT_LE(booted, used + 2);  // at most one unused run per decision
  // Every boot is a stored run of its own.
  auto list = nlohmann::json::parse(run_command({DIORACE_BIN, "results", "list", "--store", store, "--json"}).output);
  EXPECT_EQ(static_cast<int64_t>(list.size()), booted) << list.dump();
  // The bisection's log names the stored run of each run it used.
  auto linked = run_command({"/usr/bin/python3", "-c",
                             "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("
                             "'SELECT COUNT(*) FROM bisect_runs WHERE run_id IN (SELECT id FROM runs)').fetchone()[0])",
                             store});
  EXPECT_EQ(linked.output, std::to_string(used) + "\n");

  auto step = run_command({DIORACE_BIN, "bisect-step", "--case", "dma_thread", "--duration", "60", "--store", store,
                           "--jobs", "2", "--runs", "2", "--kernel", kBuggy},
                          std::chrono::seconds(600));
  std::printf("%s\n", step.output.c_str());
  EXPECT_EQ(step.status, 1) << step.output;  // --terms bad: the bug shows
  EXPECT_NE(step.output.find("the bug shows (runs 1-2 of 2)"), std::string::npos) << step.output;
  EXPECT_EQ(static_cast<int64_t>(
                nlohmann::json::parse(run_command({DIORACE_BIN, "results", "list", "--store", store, "--json"}).output)
                    .size()),
            booted + 2);
  // Nothing of the children is left behind.
  EXPECT_EQ(run_command({"sh", "-c", "ls -d /var/tmp/diorace-bisect-* 2>/dev/null | wc -l"}).output, "0\n");
  fs::remove_all(dir);
}

// Is a qemu running below `root` (its child or grandchild)?
bool qemu_below(pid_t root) {
  for (pid_t p : test::descendants(root)) {
    std::string comm;
    if (try_read_file("/proc/" + std::to_string(p) + "/comm", comm) && comm.rfind("qemu-system", 0) == 0) return true;
  }
  return false;
}

// SIGTERM while a guest runs: diorace vm kills qemu, removes its work
// directory and disks, and exits 2 saying so; with --boots the stop goes
// to each boot running and no more are started.
TEST(Vm, AStopRequestEndsTheGuestAndLeavesNothing) {
  auto vm_dirs = [] { return run_command({"sh", "-c", "ls -d /var/tmp/diorace-vm-* 2>/dev/null | sort"}).output; };
  const std::vector<std::vector<std::string>> runs = {
      {"vm", "--deb", kBuggy, "--store", "none", "--", "run", "dma_thread", "--duration", "60"},
      {"vm", "--deb", kBuggy, "--store", "none", "--boots", "3", "--", "explore", "--fs", "ext4", "--duration", "60"}};
  for (const auto& args : runs) {
    const std::string before = vm_dirs();
    const pid_t pid = test::spawn_diorace(args);
    bool booted = false;
    for (int i = 0; i < 600 && !booted; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      booted = qemu_below(pid);
    }
    ASSERT_TRUE(booted) << args[5];
    std::this_thread::sleep_for(std::chrono::seconds(2));
    ::kill(pid, SIGTERM);
    int st = 0;
    bool ended = false;
    for (int i = 0; i < 300 && !ended; ++i) {
      ended = ::waitpid(pid, &st, WNOHANG) == pid;
      if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ended) ::kill(pid, SIGKILL), ::waitpid(pid, &st, 0);
    EXPECT_TRUE(ended) << "diorace vm did not end within 30 s of SIGTERM";
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2) << "status " << st;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_EQ(vm_dirs(), before) << "a VM work directory is left";
    EXPECT_EQ(run_command({"sh", "-c", "ls -d /var/tmp/diorace-explore-boots-* 2>/dev/null | wc -l"}).output, "0\n");
  }
}

// The explorer over boots (`vm --boots 2 --jobs 2 -- explore`): two boots
// of 6.1 at once, seeds 1 and 2, each reporting its findings, and a summary
// that counts the boots each signature showed in (IOPOLL: one or both).
TEST(VmExplore, OverBootsSaysWhichFindingsShowedInHowManyBoots) {
  const std::string dir = "/var/tmp/diorace-vmtest-boots-" + std::to_string(::getpid());
  fs::remove_all(dir);
  auto r = run_command({DIORACE_BIN, "vm", "--deb", kBuggy, "--boots", "2", "--jobs", "2", "--store", "none", "--",
                        "explore", "--duration", "15", "--fs", "ext4", "--seed", "1", "--weight", "iopoll=200",
                        "--findings", dir},
                       std::chrono::seconds(900));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("boot 1 (seed 1)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("boot 2 (seed 2)"), std::string::npos) << r.output;
  // Each row of the summary counts the boots whose report names that
  // signature. IOPOLL in at least one: a boot may spend its 15 s on another
  // finding (the tenth session, this test alone beside no other VM: seed
  // 2's eighth program hung on 6.1, a deadline|hang finding at 23.3 s, not
  // analysed; that boot had no IOPOLL).
  const std::regex row(R"(\| `([^`]+)` \| ([0-9])/2 \|)");
  int rows = 0;
  for (std::sregex_iterator it(r.output.begin(), r.output.end(), row), end; it != end; ++it, ++rows) {
    const std::string sig = (*it)[1];
    size_t boots = 0;
    for (size_t at = r.output.find("    " + sig + " at "); at != std::string::npos;
         at = r.output.find("    " + sig + " at ", at + 1))
      ++boots;
    EXPECT_EQ(std::to_string(boots), (*it)[2].str()) << sig << "\n" << r.output;
  }
  EXPECT_GT(rows, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(\| `result\|short_read\|read\.direct\.uring-iopoll\|ext4` \| [12]/2 \|)")))
      << r.output;
  EXPECT_NE(r.output.find("finding: " + dir), std::string::npos) << r.output;
  EXPECT_FALSE(fs::is_empty(dir));
  fs::remove_all(dir);
  EXPECT_EQ(run_command({"sh", "-c", "ls -d /var/tmp/diorace-explore-boots-* 2>/dev/null | wc -l"}).output, "0\n");
}

// The explorer, blind: the default configuration with a fixed seed finds
// the IOPOLL class (RACES.md bug 2) on 6.1 and nothing on 6.12.
TEST(VmExplore, FindsTheIopollClassOn61AndNothingOn612) {
  const std::string dir = "/var/tmp/diorace-vmtest-findings-" + std::to_string(::getpid());
  fs::remove_all(dir);
  // 30 s each (60 s until CI had to fit in 45 minutes): on 6.1 the IOPOLL
  // finding is program 40 of this seed, 8-14 s in (156 programs in 30 s).
  auto bad = vm({"--deb", kBuggy}, {"explore", "--duration", "30", "--fs", "ext4", "--seed", "1", "--findings", dir});
  ASSERT_EQ(bad.status, 1) << bad.output;
  std::set<std::string> signatures;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string text;
    ASSERT_TRUE(try_read_file(e.path().string(), text));
    const auto j = nlohmann::json::parse(text);
    signatures.insert(j["finding"]["signature"].get<std::string>());
    EXPECT_FALSE(j["actors"].empty());
    EXPECT_NE(j["finding"]["kernel"].get<std::string>().find("6.1.0-50"), std::string::npos);
  }
  fs::remove_all(dir);
  EXPECT_TRUE(signatures.count("result|short_read|read.direct.uring-iopoll|ext4"))
      << "signatures found: " << nlohmann::json(signatures).dump();

  auto good = vm({"--deb", kFixed}, {"explore", "--duration", "30", "--fs", "ext4", "--seed", "1", "--findings", dir});
  EXPECT_EQ(good.status, 0) << good.output;
  EXPECT_FALSE(fs::exists(dir) && !fs::is_empty(dir));
  const auto& c = only_case(good, "explore");
  EXPECT_EQ(c["outcome"], "PASS");
  EXPECT_GT(c["iterations"].get<int>(), 40);
  fs::remove_all(dir);
}
