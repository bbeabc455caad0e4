// SPDX-License-Identifier: GPL-2.0-or-later
// diorace in LAVA: job definitions checked with LAVA's own validator
// (lava-common's schemas, strict), the shipped test definition with LAVA's
// test-definition schema, the definition's step run as LAVA would run it
// (its helpers faked by their documented signal lines), and finished jobs'
// logs read back into the store with diorace's meanings kept.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "test_util.hpp"

using namespace diorace;
namespace fs = std::filesystem;
using test::run_diorace;
using test::TempDir;

namespace {

CommandResult lava_validate(const std::string& file) {
  return run_command({"/usr/bin/python3", "-c",
                      "import sys, yaml\n"
                      "from lava_common.schemas import validate\n"
                      "validate(yaml.safe_load(open(sys.argv[1])), strict=True, extra_context_variables=[])\n"
                      "print('valid')\n",
                      file});
}

// Output lines as a LAVA job log: a YAML list of {dt, lvl, msg}.
std::string as_lava_log(const std::string& output) {
  std::string log = "- {\"dt\": \"2026-11-23T00:00:00\", \"lvl\": \"info\", \"msg\": \"start: 1 tmpfs-deploy\"}\n";
  std::istringstream is(output);
  for (std::string line; std::getline(is, line);)
    log += "- {\"dt\": \"2026-11-23T00:00:01\", \"lvl\": \"target\", \"msg\": " + nlohmann::json(line).dump() + "}\n";
  return log;
}

// The test definition's step, as LAVA runs it, with lava-test-case faked by
// the signal line it prints.
std::string run_lava_step(const TempDir& d, const std::string& cases, const std::string& run_args) {
  fs::create_directories(d.path + "/bin");
  write_file(d.path + "/bin/lava-test-case",
             "#!/bin/sh\necho \"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$1 RESULT=$3>\"\n");
  ::chmod((d.path + "/bin/lava-test-case").c_str(), 0755);
  ::symlink(DIORACE_BIN, (d.path + "/bin/diorace").c_str());
  auto r = run_command({"sh", "-ec",
                        "PATH=\"$1/bin:$PATH\" sh " DIORACE_SOURCE_DIR "/lava/diorace-lava.sh \"$2\" '' $3", "sh",
                        d.path, cases, run_args},
                       std::chrono::seconds(300));
  EXPECT_EQ(r.status, 0) << r.output;  // never fails the definition
  return r.output;
}

}  // namespace

TEST(Lava, JobDefinitionsPassLavasOwnValidator) {
  TempDir d;
  auto q = run_diorace({"lava-job", "--kernel-url", "https://lab.example/vmlinuz", "--initramfs-url",
                        "https://lab.example/diorace-initramfs.cpio", "--testdef-repo",
                        "https://git.example/diorace.git", "--boots", "3", "--tags", "tcg", "--out", d.path, "--",
                        "dma_thread", "forkscrew", "--duration", "60"});
  ASSERT_EQ(q.status, 0) << q.output;
  for (int i = 1; i <= 3; ++i) {
    const std::string f = d.path + "/job-00" + std::to_string(i) + ".yaml";
    auto v = lava_validate(f);
    EXPECT_EQ(v.status, 0) << f << ": " << v.output;
    auto job = nlohmann::json::parse(read_file(f));
    EXPECT_EQ(job["actions"][0]["deploy"]["images"]["ramdisk"]["overlays"]["lava"], true);
    EXPECT_EQ(job["actions"][2]["test"]["definitions"][0]["parameters"]["CASES"], "dma_thread forkscrew");
    EXPECT_EQ(job["actions"][2]["test"]["definitions"][0]["parameters"]["RUN_ARGS"], "--duration 60");
  }
  auto board = run_diorace({"lava-job", "--device-type", "x86", "--scratch-device", "/dev/sdb", "--testdef-repo",
                            "https://git.example/diorace.git", "--", "all"});
  ASSERT_EQ(board.status, 0) << board.output;
  write_file(d.path + "/board.yaml", board.output);
  auto v = lava_validate(d.path + "/board.yaml");
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(board.output.find("\"DEVICE\": \"/dev/sdb\""), std::string::npos) << board.output;
  // A board job without the lab's scratch disk, or a qemu job without its
  // images, is refused before anything is written.
  auto no_disk = run_diorace({"lava-job", "--device-type", "x86", "--testdef-repo", "https://git.example/d.git",
                              "--out", d.path, "--", "all"});
  EXPECT_EQ(no_disk.status, 2) << no_disk.output;
  auto no_images = run_diorace({"lava-job", "--testdef-repo", "https://git.example/d.git", "--", "all"});
  EXPECT_EQ(no_images.status, 2) << no_images.output;
  // The shipped test definition, with LAVA's test-definition schema.
  auto t = run_command({"/usr/bin/python3", "-c",
                        "import sys, yaml\nfrom lava_common.schemas.test.testdef import validate\n"
                        "validate(yaml.safe_load(open(sys.argv[1])))\n",
                        DIORACE_SOURCE_DIR "/lava/diorace.yaml"});
  EXPECT_EQ(t.status, 0) << t.output;
}

TEST(Lava, ReportedCasesAndTheImportedJobKeepDioracesMeaning) {
  TempDir d;
  const std::string store = d.path + "/s.sqlite";
  // A case fails (fault injection: the FAIL path), and the job was to run
  // another that never reported.
  const std::string out = run_lava_step(d, "dma_thread", "--iterations 2 --inject-fault flip");
  EXPECT_NE(out.find("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=diorace.dma_thread RESULT=fail>"), std::string::npos) << out;
  EXPECT_NE(out.find("DIORACE-DOCUMENT-BEGIN"), std::string::npos) << out;
  write_file(d.path + "/job.yaml", as_lava_log(out));
  auto imp = run_diorace({"results", "import-lava", d.path + "/job.yaml", "--health", "Complete", "--expect",
                          "dma_thread", "--expect", "uring_fork", "--store", store});
  ASSERT_EQ(imp.status, 0) << imp.output;
  auto show = run_diorace({"results", "show", "1", "--json", "--store", store});
  ASSERT_EQ(show.status, 0) << show.output;
  auto doc = nlohmann::json::parse(show.output);
  EXPECT_EQ(doc["run"]["mode"], "lava");
  std::map<std::string, nlohmann::json> by;
  for (const auto& c : doc["cases"]) by[c["name"]] = c;
  EXPECT_EQ(by["dma_thread"]["outcome"], "FAIL");
  EXPECT_EQ(by["dma_thread"]["kind"], "corruption");
  EXPECT_TRUE(by["dma_thread"]["fault_injected"].get<bool>());
  EXPECT_EQ(by["uring_fork"]["outcome"], "INCOMPLETE") << doc.dump(1);
  // The same job imported again (a nightly run twice) is the run stored before, not a second run.
  auto again = run_diorace({"results", "import-lava", d.path + "/job.yaml", "--health", "Complete", "--expect",
                            "dma_thread", "--expect", "uring_fork", "--store", store});
  EXPECT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("imported as run 1 (COMPLETE, already in the store): 2 case(s), exit code 1"),
            std::string::npos) << again.output;
  EXPECT_EQ(nlohmann::json::parse(run_diorace({"results", "list", "--json", "--store", store}).output).size(), 1u);
  // A damaged document is no result: never PASS.
  std::string log = read_file(d.path + "/job.yaml");
  const size_t at = log.find("DIORACE-DOCUMENT-BEGIN");
  const size_t line = log.find("\"msg\": \"", log.find('\n', at)) + 8;
  log[line + 3] = log[line + 3] == 'A' ? 'B' : 'A';
  write_file(d.path + "/damaged.yaml", log);
  auto dmg = run_diorace({"results", "import-lava", d.path + "/damaged.yaml", "--store", store});
  ASSERT_EQ(dmg.status, 0) << dmg.output;
  EXPECT_NE(dmg.output.find("ERROR"), std::string::npos) << dmg.output;
  EXPECT_NE(dmg.output.find("damaged"), std::string::npos) << dmg.output;
  // A job with no results, and an incomplete job whose cases passed.
  write_file(d.path + "/empty.yaml", as_lava_log("login prompt\n"));
  auto empty = run_diorace({"results", "import-lava", d.path + "/empty.yaml", "--health", "Incomplete", "--store", store});
  EXPECT_NE(empty.output.find("ERROR"), std::string::npos) << empty.output;
  EXPECT_NE(empty.output.find("exit code 2"), std::string::npos) << empty.output;
  const std::string ok = run_lava_step(d, "dma_thread", "--iterations 2");
  write_file(d.path + "/ok.yaml", as_lava_log(ok));
  auto inc = run_diorace({"results", "import-lava", d.path + "/ok.yaml", "--health", "Incomplete", "--store", store});
  EXPECT_NE(inc.output.find("INCOMPLETE"), std::string::npos) << inc.output;
  EXPECT_NE(inc.output.find("exit code 2"), std::string::npos) << inc.output;
  // A guest panic during a case: FAIL crash, charged to the case whose
  // kernel-log marker came last.
  write_file(d.path + "/panic.yaml",
             as_lava_log("[   5.1] diorace: case uffd_dio_release seed 7 start 123\n"
                         "[   9.9] Kernel panic - not syncing: hung_task: blocked tasks\n"));
  auto panic = run_diorace({"results", "import-lava", d.path + "/panic.yaml", "--health", "Incomplete", "--store", store});
  EXPECT_NE(panic.output.find("FAIL  uffd_dio_release (crash)"), std::string::npos) << panic.output;
  // Reports read lava runs as any other.
  auto k = run_diorace({"results", "export", "--run", "1", "--kcidb", d.path + "/k.json", "--store", store});
  EXPECT_EQ(k.status, 0) << k.output;
}

// The LAVA qemu job end to end, without a lab: diorace's LAVA initramfs
// with an overlay appended as LAVA appends its own (the test definition's
// step and a lava-test-case helper, run from a login shell at the prompt as
// LAVA's test shell would), booted on Debian 6.1 under qemu; the console
// read back as a LAVA job log gives the case's FAIL with its evidence.
TEST(VmLava, TheLavaInitramfsRunsTheDefinitionOn61) {
  TempDir d;
  const std::string deb = "linux-image-6.1.0-50-cloud-amd64-unsigned";
  auto job = run_diorace({"lava-job", "--initramfs", d.path + "/diorace.cpio", "--deb", deb, "--kernel-url",
                          "https://lab.example/vmlinuz", "--initramfs-url", "https://lab.example/diorace.cpio",
                          "--testdef-repo", "https://git.example/diorace.git", "--", "dma_thread", "--duration", "60"},
                         600);
  ASSERT_EQ(job.status, 0) << job.output;
  const std::string image = job.output.substr(job.output.find("with the kernel ") + 16,
                                              job.output.find(')', job.output.find("with the kernel ")) -
                                                  job.output.find("with the kernel ") - 16);
  ASSERT_TRUE(fs::exists(image)) << job.output;
  // The overlay: what LAVA's would hold for this definition.
  const std::string ov = d.path + "/overlay";
  fs::create_directories(ov + "/lava-overlay/lava");
  fs::create_directories(ov + "/lava-overlay/bin");
  fs::create_directories(ov + "/etc");
  fs::copy_file(DIORACE_SOURCE_DIR "/lava/diorace-lava.sh", ov + "/lava-overlay/lava/diorace-lava.sh");
  write_file(ov + "/lava-overlay/bin/lava-test-case", "#!/bin/sh\necho \"<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=$1 RESULT=$3>\"\n");
  ::chmod((ov + "/lava-overlay/bin/lava-test-case").c_str(), 0755);
  write_file(ov + "/etc/profile",
             "export PATH=/lava-overlay/bin:$PATH\n"
             "sh /lava-overlay/lava/diorace-lava.sh dma_thread '' --duration 60\n"
             "echo lava-step-done\nsync\npoweroff -f\n");
  auto cpio = run_command({"sh", "-c",
                           "cd \"$1\" && find . | cpio -o -H newc --quiet > \"$2/overlay.cpio\" && "
                           "cat \"$2/diorace.cpio\" \"$2/overlay.cpio\" > \"$2/full.cpio\"",
                           "sh", ov, d.path});
  ASSERT_EQ(cpio.status, 0) << cpio.output;
  const std::string console = d.path + "/console.log";
  auto q = run_command({"qemu-system-x86_64", "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                        "-smp", "2", "-m", "2048", "-accel", "tcg,thread=multi", "-cpu", "max", "-kernel", image,
                        "-initrd", d.path + "/full.cpio", "-append", "console=ttyS0 panic=-1 rdinit=/init",
                        "-serial", "file:" + console},
                       std::chrono::seconds(600));
  std::string out;
  ASSERT_TRUE(try_read_file(console, out)) << q.output;
  EXPECT_NE(out.find("diorace-guest: 6.1.0-50-cloud-amd64 ready"), std::string::npos) << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  EXPECT_NE(out.find("lava-step-done"), std::string::npos) << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  EXPECT_NE(out.find("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=diorace.dma_thread RESULT=fail>"), std::string::npos)
      << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  write_file(d.path + "/job.yaml", as_lava_log(out));
  const std::string store = d.path + "/s.sqlite";
  auto imp = run_diorace({"results", "import-lava", d.path + "/job.yaml", "--health", "Complete", "--label", deb,
                          "--expect", "dma_thread", "--store", store});
  ASSERT_EQ(imp.status, 0) << imp.output;
  EXPECT_NE(imp.output.find("FAIL  dma_thread (corruption)"), std::string::npos) << imp.output;
  auto show = run_diorace({"results", "show", "1", "--json", "--store", store});
  auto doc = nlohmann::json::parse(show.output);
  EXPECT_EQ(doc["system"]["kernel"]["release"], "6.1.0-50-cloud-amd64");
  EXPECT_EQ(doc["cases"][0]["events"][0]["class"], "fill_byte");
}

// A job definition `lava-job` writes for deb and the run arguments, made
// local (its kernel from diorace's cache, its initramfs in d): d/TAG.yaml.
void write_local_job(const TempDir& d, const std::string& deb, const std::string& tag,
                     const std::vector<std::string>& run_args) {
  const std::string cpio = d.path + "/" + tag + ".cpio";
  std::vector<std::string> args = {"lava-job", "--initramfs", cpio, "--deb", deb, "--kernel-url", "file:///placeholder",
                                   "--initramfs-url", "file://" + cpio, "--testdef-repo", DIORACE_SOURCE_DIR,
                                   "--job-timeout", "20", "--test-timeout", "10", "--"};
  args.insert(args.end(), run_args.begin(), run_args.end());
  auto job = run_diorace(args, 600);
  ASSERT_EQ(job.status, 0) << job.output;
  const size_t at = job.output.find("with the kernel ") + 16;
  const std::string image = job.output.substr(at, job.output.find(')', at) - at);
  auto def = nlohmann::json::parse(job.output.substr(job.output.find('{'), job.output.rfind('}') + 1 - job.output.find('{')));
  def["actions"][0]["deploy"]["images"]["kernel"]["url"] = "file://" + image;
  write_file(d.path + "/" + tag + ".yaml", def.dump(2));
}

// The real engine: LAVA's own dispatcher (lava-run, Debian's lava-dispatcher
// 2023.01) runs the jobs `lava-job` writes, locally, with a qemu device
// dictionary rendered from lava-server's template (ci/lava-device): Debian
// 6.1 and 6.12 booted through LAVA with diorace's initramfs and LAVA's
// overlay, the shipped test definition cloned from this repository and run
// at the prompt; the logs imported: dma_thread FAIL on 6.1, PASS on 6.12,
// and `results compare` names it FIXED.
TEST(VmLava, LavaRunExecutesTheJobsAndCompareNamesTheFix) {
  if (!have_program("lava-run")) GTEST_SKIP() << "lava-run not installed (ci/setup installs lava-dispatcher)";
  TempDir d;
  auto dev = run_command({DIORACE_SOURCE_DIR "/ci/lava-device", d.path + "/device.yaml"}, std::chrono::seconds(300));
  ASSERT_EQ(dev.status, 0) << dev.output;
  const std::string store = d.path + "/s.sqlite";
  std::vector<int64_t> runs;
  for (const std::string deb : {"linux-image-6.1.0-50-cloud-amd64-unsigned", "linux-image-6.12.107+deb12-amd64-unsigned"}) {
    const std::string tag = deb.find("6.12") != std::string::npos ? "612" : "61";
    write_local_job(d, deb, tag, {"dma_thread", "--duration", "60"});
    if (HasFatalFailure()) return;
    auto valid = run_command({"lava-run", "--validate", "--device", d.path + "/device.yaml", "--job-id", "1",
                              "--output-dir", d.path + "/v" + tag, d.path + "/" + tag + ".yaml"},
                             std::chrono::seconds(120));
    ASSERT_EQ(valid.status, 0) << valid.output.substr(valid.output.size() > 4000 ? valid.output.size() - 4000 : 0);
    auto run = run_command({"lava-run", "--device", d.path + "/device.yaml", "--job-id", "1", "--output-dir",
                            d.path + "/out" + tag, d.path + "/" + tag + ".yaml"},
                           std::chrono::seconds(1200));
    write_file(d.path + "/" + tag + ".log", run.output);
    EXPECT_EQ(run.status, 0) << run.output.substr(run.output.size() > 4000 ? run.output.size() - 4000 : 0);
    EXPECT_NE(run.output.find("\"case\": \"diorace.dma_thread\""), std::string::npos) << "no LAVA test case reported";
    auto imp = run_diorace({"results", "import-lava", d.path + "/" + tag + ".log", "--health", "Complete", "--label",
                            deb, "--expect", "dma_thread", "--store", store});
    ASSERT_EQ(imp.status, 0) << imp.output;
    EXPECT_NE(imp.output.find(tag == "61" ? "FAIL  dma_thread (corruption)" : "PASS  dma_thread"), std::string::npos)
        << imp.output;
    runs.push_back(static_cast<int64_t>(runs.size() + 1));
  }
  auto cmp = run_diorace({"results", "compare", "--run", "1", "--run", "2", "--store", store});
  EXPECT_EQ(cmp.status, 0) << cmp.output;
  EXPECT_NE(cmp.output.find("FIXED          dma_thread"), std::string::npos) << cmp.output;
}

// The explorer as a LAVA job: `lava-job -- explore ...` run by the real
// lava-run on Debian 6.1; the import keeps its findings with their programs,
// and `results findings` writes them as program files to replay (IOPOLL).
TEST(VmLava, TheExplorerRunsAsALavaJobAndItsFindingsComeBackAsPrograms) {
  if (!have_program("lava-run")) GTEST_SKIP() << "lava-run not installed (ci/setup installs lava-dispatcher)";
  TempDir d;
  auto dev = run_command({DIORACE_SOURCE_DIR "/ci/lava-device", d.path + "/device.yaml"}, std::chrono::seconds(300));
  ASSERT_EQ(dev.status, 0) << dev.output;
  const std::string deb = "linux-image-6.1.0-50-cloud-amd64-unsigned";
  write_local_job(d, deb, "explore",
                  {"explore", "--duration", "15", "--param", "variant=ext4", "--seed", "1", "--param", "w_iopoll=200"});
  if (HasFatalFailure()) return;
  auto run = run_command({"lava-run", "--device", d.path + "/device.yaml", "--job-id", "1", "--output-dir",
                          d.path + "/out", d.path + "/explore.yaml"},
                         std::chrono::seconds(1200));
  write_file(d.path + "/explore.log", run.output);
  EXPECT_EQ(run.status, 0) << run.output.substr(run.output.size() > 4000 ? run.output.size() - 4000 : 0);
  EXPECT_NE(run.output.find("\"case\": \"diorace.explore.ext4\""), std::string::npos)
      << run.output.substr(run.output.size() > 4000 ? run.output.size() - 4000 : 0);
  const std::string store = d.path + "/s.sqlite";
  auto imp = run_diorace({"results", "import-lava", d.path + "/explore.log", "--health", "Complete", "--label", deb,
                          "--expect", "explore", "--store", store});
  ASSERT_EQ(imp.status, 0) << imp.output;
  EXPECT_NE(imp.output.find("FAIL  explore[ext4]"), std::string::npos) << imp.output;
  auto progs = run_diorace({"results", "findings", "1", "--out", d.path + "/findings", "--store", store});
  ASSERT_EQ(progs.status, 0) << progs.output;
  bool iopoll = false;
  for (const auto& e : fs::directory_iterator(d.path + "/findings")) {
    std::string text;
    ASSERT_TRUE(try_read_file(e.path().string(), text));
    const auto j = nlohmann::json::parse(text);
    iopoll |= j["finding"]["signature"] == "result|short_read|read.direct.uring-iopoll|ext4";
    EXPECT_FALSE(j["actors"].empty());
  }
  EXPECT_TRUE(iopoll) << progs.output;
}

// A real one-device LAVA lab for one test (ci/lava-lab: Debian's
// lava-server with gunicorn, its publisher and scheduler, and lava-worker,
// on the PostgreSQL of ci/postgres): stopped with SIGTERM when the test ends,
// whatever happened, so that it stops its processes and drops its database.
struct RealLab {
  std::string dir;
  ChildProcess proc;
  nlohmann::json info;
  std::string rpc;
  explicit RealLab(const std::string& d) : dir(d) {
    std::vector<std::string> argv = {DIORACE_SOURCE_DIR "/ci/lava-lab", "--work", dir + "/lab", "--ready-file",
                                     dir + "/lab.json"};
    if (const char* pg = std::getenv("DIORACE_TEST_PG")) argv.insert(argv.end(), {"--pg", pg});
    UniqueFd out(::open((dir + "/lab.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    proc = spawn({.argv = argv, .stdout_fd = out.get(), .stderr_fd = out.get()});
    std::string text;
    for (int i = 0; i < 1800 && !try_read_file(dir + "/lab.json", text) && !proc.try_wait(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!text.empty()) {
      info = nlohmann::json::parse(text);
      rpc = info["rpc"];
    }
  }
  std::string log() const {
    std::string s;
    try_read_file(dir + "/lab.log", s);
    return s;
  }
  ~RealLab() { stop(); }
  // Returns the lab's exit status (0: it stopped everything cleanly).
  int stop() {
    if (proc.pid() < 0) return -1;
    ::kill(proc.pid(), SIGTERM);
    for (int i = 0; i < 600; ++i) {
      if (auto st = proc.try_wait()) {
        proc.release();
        return exit_code_of(*st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    proc.kill_and_reap();
    return -1;
  }
  CommandResult lavacli(std::vector<std::string> args, int timeout_s = 120) const {
    args.insert(args.begin(), {"lavacli", "--uri", rpc});
    return run_command(args, std::chrono::seconds(timeout_s));
  }
  nlohmann::json job(const std::string& id) const {
    auto r = lavacli({"jobs", "show", "--json", id});
    return r.ok() ? nlohmann::json::parse(r.output) : nlohmann::json::object();
  }
  // Waits until the job's state is `state` (or Finished); returns the state.
  std::string wait_state(const std::string& id, const std::string& state, int seconds) const {
    std::string now;
    for (int i = 0; i < seconds * 2; ++i) {
      now = job(id).value("state", "");
      if (now == state || now == "Finished") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return now;
  }
  std::string submit(const std::string& file) const {
    auto r = lavacli({"jobs", "submit", file});
    std::string id = r.output.substr(0, r.output.find('\n'));
    EXPECT_TRUE(r.ok() && !id.empty() && id.find_first_not_of("0123456789") == std::string::npos) << r.output;
    return id;
  }
  // The server's REST API (/api/v0.2/...), as the admin.
  std::string rest(const std::string& path) const {
    return run_command({"curl", "-sf", "-H", "Authorization: Token " + info["token"].get<std::string>(),
                        info["url"].get<std::string>() + "/api/v0.2/" + path},
                       std::chrono::seconds(60))
        .output;
  }
};

// A job definition the nightly wrote, changed: `from` replaced by `to`.
std::string doctored_job(const std::string& job, const std::string& out, const std::string& from, const std::string& to) {
  std::string text;
  EXPECT_TRUE(try_read_file(job, text)) << job;
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << job;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  write_file(out, text);
  return out;
}

// diorace's lab path through a real lava-server: `ci/nightly --engine lava`
// submits the night's jobs with lavacli to the server, its scheduler gives
// them to the worker, lava-run boots Debian 6.1 and 6.12, the nightly waits
// and imports through the server (XML-RPC logs and the results API, which
// must agree), and compares; the server's REST results and JUnit export say
// the same. Then health: a job that cannot deploy (Incomplete), a job
// canceled while it runs, a device put into maintenance (the job waits in
// the queue), a worker killed mid-job with its lava-run: never a PASS.
TEST(LavaServer, ARealServerRunsTheNightAndItsHealthNeverPasses) {
  for (const char* p : {"lava-run", "lavacli", "lava-worker", "gunicorn", "psql"})
    if (!have_program(p)) GTEST_SKIP() << p << " not installed (ci/setup installs the lab's packages)";
  if (::geteuid() != 0) GTEST_SKIP() << "ci/lava-lab starts PostgreSQL and the server as root";
  TempDir d;
  auto lava_run_tmp = [] {
    std::set<std::string> s;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/var/lib/lava/dispatcher/tmp", ec)) s.insert(e.path().string());
    return s;
  };
  const auto lava_run_before = lava_run_tmp();
  const auto t0 = std::chrono::steady_clock::now();
  RealLab lab(d.path);
  ASSERT_FALSE(lab.rpc.empty()) << "the lab did not start:\n" << lab.log();
  std::printf("lava-server up in %.1f s (ci/lava-lab's own count %.1f s)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              lab.info["startup_s"].get<double>());
  EXPECT_EQ(lab.lavacli({"system", "version"}).output, "2023.01\n");
  fs::create_directories(d.path + "/artifacts");
  const std::string store = d.path + "/s.sqlite";
  auto nightly = [&](const std::string& kernels, const std::string& out, const std::string& wait) {
    return run_command({"env", std::string("DIORACE_BIN=") + DIORACE_BIN, DIORACE_SOURCE_DIR "/ci/nightly",
                        "--engine", "lava", "--lava-url", lab.rpc, "--artifacts-dir", d.path + "/artifacts",
                        "--artifacts-url", "file://" + d.path + "/artifacts", "--testdef-repo", DIORACE_SOURCE_DIR,
                        "--kernels", kernels, "--cases", "dma_thread", "--duration", "20", "--lava-wait", wait,
                        "--store", store, "--out", out},
                       std::chrono::seconds(1500));
  };
  const auto t1 = std::chrono::steady_clock::now();
  auto night = nightly("linux-image-6.1.0-50-cloud-amd64-unsigned linux-image-6.12.107+deb12-amd64-unsigned",
                       d.path + "/night", "900");
  std::printf("%s\nthe night's two jobs, submit to import: %.1f s\n", night.output.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  EXPECT_EQ(night.status, 0) << night.output << lab.log();
  EXPECT_NE(night.output.find("FIXED          dma_thread"), std::string::npos) << night.output;
  for (int i : {1, 2}) {
    std::string imp;
    EXPECT_TRUE(try_read_file(d.path + "/night/logs/" + std::to_string(i) + ".import", imp));
    EXPECT_NE(imp.find("the server's results agree with the log"), std::string::npos) << imp;
  }
  // The server's own view of the two jobs: REST test cases and JUnit export.
  for (int id : {1, 2}) {
    const std::string want = id == 1 ? "fail" : "pass";
    auto tests = nlohmann::json::parse(lab.rest("jobs/" + std::to_string(id) + "/tests/?format=json"));
    std::string got;
    for (const auto& t : tests["results"])
      if (t["name"] == "diorace.dma_thread") got = t["result"];
    EXPECT_EQ(got, want) << tests.dump(1);
    auto show = nlohmann::json::parse(run_diorace({"results", "show", std::to_string(id), "--store", store, "--json"}).output);
    EXPECT_EQ(show["run"]["mode"], "lava");
    EXPECT_EQ(show["cases"][0]["outcome"], id == 1 ? "FAIL" : "PASS") << show.dump(1);
    const std::string junit = lab.rest("jobs/" + std::to_string(id) + "/junit/");
    const auto tc = junit.find("<testcase name=\"diorace.dma_thread\"");
    ASSERT_NE(tc, std::string::npos) << junit;
    const auto close = junit.find("</testcase>", tc);
    const bool failed = close != std::string::npos && close < junit.find("<testcase", tc + 1) &&
                        junit.substr(tc, close - tc).find("<failure") != std::string::npos;
    EXPECT_EQ(failed, id == 1) << junit.substr(tc, 300);
  }
  const std::string job612 = d.path + "/night/jobs/2/job-001.yaml";
  auto import = [&](const std::string& id) {
    return run_diorace({"results", "import-lava", "--lava-uri", lab.rpc, "--job", id, "--label", "health " + id,
                        "--expect", "dma_thread", "--store", store});
  };
  auto never_pass = [&](const CommandResult& r, const std::string& what) {
    EXPECT_EQ(r.status, 0) << what << r.output;
    EXPECT_NE(r.output.find("exit code 2"), std::string::npos) << what << ": " << r.output;
    EXPECT_EQ(r.output.find("PASS"), std::string::npos) << what << ": " << r.output;
    EXPECT_EQ(r.output.find("(COMPLETE"), std::string::npos) << what << ": " << r.output;
  };
  // 1. A job that cannot deploy: the server marks it Incomplete.
  const auto bad = lab.submit(doctored_job(job612, d.path + "/bad.yaml", "-vmlinuz\"", "-vmlinuz-gone\""));
  EXPECT_EQ(lab.wait_state(bad, "Finished", 300), "Finished");
  EXPECT_EQ(lab.job(bad).value("health", ""), "Incomplete") << lab.job(bad).dump(1);
  never_pass(import(bad), "an Incomplete job");
  // 2. A job canceled while it runs.
  const std::string long_job = doctored_job(job612, d.path + "/long.yaml", "--duration 20", "--duration 600");
  const auto canceled = lab.submit(long_job);
  EXPECT_EQ(lab.wait_state(canceled, "Running", 120), "Running");
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_TRUE(lab.lavacli({"jobs", "cancel", canceled}).ok());
  EXPECT_EQ(lab.wait_state(canceled, "Finished", 300), "Finished");
  EXPECT_EQ(lab.job(canceled).value("health", ""), "Canceled") << lab.job(canceled).dump(1);
  never_pass(import(canceled), "a Canceled job");
  // 3. The device put into maintenance: the night's job waits in the queue;
  // the nightly stops waiting and cannot call the kernel tested.
  ASSERT_TRUE(lab.lavacli({"devices", "update", "--health", "MAINTENANCE", "qemu01"}).ok());
  auto offline = nightly("linux-image-6.12.107+deb12-amd64-unsigned", d.path + "/night2", "15");
  EXPECT_EQ(offline.status, 2) << offline.output;
  std::string imp;
  EXPECT_TRUE(try_read_file(d.path + "/night2/logs/1.import", imp));
  EXPECT_NE(imp.find("the job is Submitted on the server, not finished"), std::string::npos) << imp;
  never_pass({0, imp}, "a job queued for a device in maintenance");
  std::string queued;
  EXPECT_TRUE(try_read_file(d.path + "/night2/logs/1.job", queued));
  queued = queued.substr(0, queued.find('\n'));
  EXPECT_EQ(lab.job(queued).value("state", ""), "Submitted");
  EXPECT_TRUE(lab.lavacli({"jobs", "cancel", queued}).ok());
  ASSERT_TRUE(lab.lavacli({"devices", "update", "--health", "GOOD", "qemu01"}).ok());
  // 4. The worker killed mid-job, with the lava-run it started (the machine
  // went away): the server still has the job Running.
  const auto orphan = lab.submit(long_job);
  EXPECT_EQ(lab.wait_state(orphan, "Running", 120), "Running");
  std::this_thread::sleep_for(std::chrono::seconds(8));
  const pid_t worker = lab.info["pids"]["worker"].get<int>();
  for (pid_t p : test::descendants(worker)) ::kill(p, SIGKILL);
  ::kill(worker, SIGKILL);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(lab.job(orphan).value("state", ""), "Running");
  never_pass(import(orphan), "a job whose worker died");
  // The lab stops cleanly: its processes gone, its database dropped.
  const std::vector<pid_t> before = test::descendants(lab.proc.pid());
  EXPECT_FALSE(before.empty());
  EXPECT_EQ(lab.stop(), 0) << lab.log();
  for (pid_t p : before) EXPECT_NE(::kill(p, 0), 0) << "pid " << p << " outlived the lab";
  EXPECT_FALSE(fs::exists(d.path + "/lab"));
  EXPECT_EQ(lava_run_tmp(), lava_run_before) << "lava-run's scratch of a killed job was left behind";
  if (const char* pg = std::getenv("DIORACE_TEST_PG")) {
    auto dbs = run_command({"psql", pg, "-qtAc", "SELECT datname FROM pg_database"});
    EXPECT_EQ(dbs.output.find(lab.info["database"].get<std::string>()), std::string::npos) << dbs.output;
  }
}

// A lab that cannot be reached: lavacli says so and exits 0; the nightly
// does not take its words for a job id: the kernel could not be tested.
TEST(Lava, NightlySaysWhenTheLabCannotBeReached) {
  if (!have_program("lavacli")) GTEST_SKIP() << "lavacli not installed (ci/setup installs it)";
  TempDir d;
  auto night = run_command({"env", std::string("DIORACE_BIN=") + DIORACE_BIN, DIORACE_SOURCE_DIR "/ci/nightly",
                            "--engine", "lava", "--lava-url", "http://127.0.0.1:9/RPC2", "--artifacts-dir", d.path,
                            "--artifacts-url", "file://" + d.path, "--testdef-repo", DIORACE_SOURCE_DIR, "--kernels",
                            "linux-image-6.1.0-50-cloud-amd64-unsigned", "--cases", "dma_thread", "--store",
                            d.path + "/s.sqlite", "--out", d.path + "/night"},
                           std::chrono::seconds(600));
  EXPECT_EQ(night.status, 2) << night.output;
  EXPECT_NE(night.output.find("could not test linux-image-6.1.0-50-cloud-amd64-unsigned"), std::string::npos)
      << night.output;
  EXPECT_NE(night.output.find("lavacli jobs submit: Unable to connect"), std::string::npos) << night.output;
  EXPECT_NE(night.output.find("no report: no kernel was tested"), std::string::npos) << night.output;
}
