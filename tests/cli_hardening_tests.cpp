// SPDX-License-Identifier: GPL-2.0-or-later
// Hardening: what a new or a hostile user found (issue "Hardening: report
// files, damaged fixtures, orphaned cases, numbers, and KCIDB"). Each test
// reproduces one defect through the real program.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

namespace {

using test::run_diorace;
using test::sh;
using test::TempDir;
using test::expect_one_line_exit2;



mode_t file_type(const std::string& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

void flip_byte(const std::string& file, uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << file;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5a));
}

// Processes running the diorace binary (the program and its case processes,
// which are forks of it), zombies left out.
std::set<int> diorace_processes() {
  std::set<int> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    auto exe = fs::read_symlink(e.path() / "exe", ec);
    if (ec || exe.string() != fs::canonical(DIORACE_BIN).string()) continue;
    std::string stat;
    if (!try_read_file(e.path().string() + "/stat", stat)) continue;
    auto close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z') continue;
    out.insert(std::stoi(name));
  }
  return out;
}

std::set<std::string> owned_scratch_dirs() {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator("/var/tmp")) {
    auto n = e.path().filename().string();
    if (n.rfind("diorace-", 0) == 0 && n.size() == 14 && fs::exists(e.path() / ".diorace-owner")) s.insert(e.path());
  }
  return s;
}

}  // namespace

// Defect 1: report writers replaced what was not theirs.
TEST(Hardening, ReportFilesReplaceOnlyRegularFilesAndLeaveNothing) {
  TempDir d;
  // A character device is refused before the run and stays a device.
  auto full = run_diorace({"run", "dma_thread", "--iterations", "1", "--json", "/dev/full", "--store", "none"});
  expect_one_line_exit2(full, "--json /dev/full: exists and is a character device");
  EXPECT_EQ(file_type("/dev/full"), S_IFCHR);
  // A FIFO, a symbolic link, a directory: refused, untouched.
  const std::string fifo = d.path + "/fifo", link = d.path + "/link", target = d.path + "/target", dir = d.path + "/dir";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  write_file(target, "mine\n");
  fs::create_symlink(target, link);
  fs::create_directory(dir);
  const std::pair<const char*, std::string> refused[] = {
      {"--junit", fifo}, {"--kcidb", link}, {"--html", dir}, {"--ktap", fifo}, {"--jsonl", link}, {"--json", dir}};
  for (const auto& [opt, path] : refused) {
    auto r = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", opt, path});
    expect_one_line_exit2(r, std::string(opt) + " " + path + ": exists and is");
  }
  EXPECT_EQ(file_type(fifo), S_IFIFO);
  EXPECT_EQ(file_type(link), S_IFLNK);
  EXPECT_EQ(read_file(target), "mine\n");
  EXPECT_EQ(file_type(dir), S_IFDIR);
  // export and report check their files too, before reading the store.
  const std::string store = d.path + "/s.sqlite";
  ASSERT_EQ(run_diorace({"run", "dma_thread", "--iterations", "1", "--store", store, "-q"}).status, 0);
  expect_one_line_exit2(run_diorace({"results", "export", "--store", store, "--kcidb", "/dev/full"}),
                        "--kcidb /dev/full: exists and is a character device");
  expect_one_line_exit2(run_diorace({"results", "export", "--store", store, "--json", link}), "--json " + link);
  expect_one_line_exit2(run_diorace({"report", "--store", store, "--html", dir}), "--html " + dir);
  // A link planted at the old, predictable temporary name is not followed.
  const std::string out = d.path + "/r.json";
  fs::create_symlink(target, out + ".tmp");
  auto ok = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", "--json", out, "--junit",
                         d.path + "/r.xml", "--html", d.path + "/r.html"});
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(read_file(target), "mine\n");
  EXPECT_TRUE(nlohmann::json::parse(read_file(out))["complete"].get<bool>());
  // Nothing else is left in the directory (no temporary file of ours).
  std::set<std::string> want = {"fifo", "link", "target", "dir", "s.sqlite", "s.sqlite-wal", "s.sqlite-shm",
                                "r.json", "r.json.tmp", "r.xml", "r.html"};
  for (const auto& e : d.entries()) EXPECT_TRUE(want.count(e)) << "left behind: " << e;
  // An unwritable place is one line naming the file asked for.
  expect_one_line_exit2(run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", "--json",
                                     "/nonexistent/r.json"}),
                        "--json /nonexistent/r.json: directory /nonexistent: No such file or directory");
}

// Defect 2: a fixture damaged outside diorace became a kernel FAIL.
TEST(Hardening, DamagedFixtureIsNeverAFail) {
  TempDir d;
  const std::string shared = d.path + "/diorace-aio_stress-shared.dat";
  ASSERT_EQ(run_diorace({"run", "aio_stress", "--dir", d.path, "--duration", "1", "-q"}).status, 0);
  const uint64_t size = fs::file_size(shared);
  // Before the case: anywhere in the file, the first MiB and past it.
  for (uint64_t off : {uint64_t{0}, uint64_t{1536} << 10, (uint64_t{4} << 20) + 77, size - 1}) {
    flip_byte(shared, off);
    auto r = run_diorace({"run", "aio_stress", "--dir", d.path, "--duration", "1"});
    EXPECT_EQ(r.status, 0) << "byte flipped at " << off << "\n" << r.output;
    EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
  }
  const std::string data = d.path + "/diorace-dma_thread-0000.dat";
  ASSERT_EQ(run_diorace({"run", "dma_thread", "--dir", d.path, "--iterations", "1", "-q"}).status, 0);
  flip_byte(data, (uint64_t{1} << 20) + 4097);
  auto dma = run_diorace({"run", "dma_thread", "--dir", d.path, "--iterations", "3"});
  EXPECT_EQ(dma.status, 0) << dma.output;
  // During the case: the same sectors re-read after it are wrong on disk too,
  // so the finding is ERROR "fixture damaged", never FAIL.
  for (const char* off : {"0", "1572864", "2097151"}) {
    auto disk = run_diorace({"run", "selftest_fixture", "--dir", d.path, "--iterations", "2", "--param", "damage=disk",
                             "--param", std::string("offset=") + off});
    EXPECT_EQ(disk.status, 2) << disk.output;
    EXPECT_NE(disk.output.find("ERROR selftest_fixture"), std::string::npos) << disk.output;
    EXPECT_NE(disk.output.find("fixture damaged"), std::string::npos) << disk.output;
    EXPECT_EQ(disk.output.find("FAIL"), std::string::npos) << disk.output;
  }
  // The oracle can still fail: a corrupted read of an intact fixture is FAIL.
  auto read = run_diorace({"run", "selftest_fixture", "--dir", d.path, "--iterations", "2", "--param", "damage=read"});
  EXPECT_EQ(read.status, 1) << read.output;
  EXPECT_NE(read.output.find("FAIL  selftest_fixture (corruption)"), std::string::npos) << read.output;
  auto none = run_diorace({"run", "selftest_fixture", "--dir", d.path, "--iterations", "2", "--param", "damage=none"});
  EXPECT_EQ(none.status, 0) << none.output;
}

// Defect 3: no work was a PASS; negative and infinite numbers wrapped.
TEST(Hardening, NoWorkIsNoPassAndNumbersAreStrict) {
  TempDir d;
  auto r = run_diorace({"run", "dma_thread", "--dir", d.path, "--duration", "1e-9", "--store", "none", "--junit",
                        d.path + "/j.xml"});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("ERROR dma_thread: 0 iterations"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("completed no iteration"), std::string::npos) << r.output;
  EXPECT_NE(read_file(d.path + "/j.xml").find("<error"), std::string::npos);
  const std::vector<std::vector<std::string>> bad = {
      {"run", "dma_thread", "--iterations", "-1"},   {"run", "dma_thread", "--iterations", "1x"},
      {"run", "dma_thread", "--duration", "inf"},    {"run", "dma_thread", "--duration", "nan"},
      {"run", "dma_thread", "--duration", "1e400"},  {"run", "dma_thread", "--seed", "-1"},
      {"run", "dma_thread", "--seed", "99999999999999999999"}, {"run", "dma_thread", "--iteration-timeout", "-inf"},
      {"results", "list", "--limit", "-1"},          {"vm", "--cpus", "-2", "--kernel", "x", "--", "run"},
      {"bisect", "--case", "dma_thread", "--max-runs", "-5", "--kernels", "a", "b"},
  };
  for (const auto& args : bad) {
    auto b = run_diorace(args);
    expect_one_line_exit2(b, "is invalid");
  }
  expect_one_line_exit2(run_diorace({"run", "dma_thread", "--duration", "1e12"}), "--duration must be at most");
  expect_one_line_exit2(run_diorace({"results", "list", "--limit", "0", "--store", d.path + "/j.xml"}),
                        "--limit must be at least 1");
}

// Defect 4: a killed diorace left its case running and its scratch directory.
TEST(Hardening, KilledSupervisorTakesItsCaseAlongAndTheNextRunCleansUp) {
  ASSERT_TRUE(diorace_processes().empty()) << "another diorace is running";
  const char* cases[] = {"dio_wq_teardown", "dma_thread", "ipi_storm", "aio_stress", "dio_wq_teardown"};
  const double delays[] = {0.3, 0.8, 1.7, 2.6, 4.0};
  for (int i = 0; i < 5; ++i) {
    const auto before = owned_scratch_dirs();
    pid_t pid = test::spawn_diorace({"run", cases[i], "--duration", "3600", "--store", "none"});
    std::this_thread::sleep_for(std::chrono::duration<double>(delays[i]));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_TRUE(diorace_processes().empty()) << cases[i] << ": a case process outlived its supervisor by 1 s";
    for (int p : diorace_processes()) ::kill(p, SIGKILL);
    auto after = owned_scratch_dirs();
    std::set<std::string> left;
    for (const auto& s : after)
      if (!before.count(s)) left.insert(s);
    // The next run removes what the killed one left, and says so.
    auto next = run_diorace({"run", "selftest_fixture", "--iterations", "1", "--store", "none"});
    EXPECT_EQ(next.status, 0) << next.output;
    for (const auto& s : left) {
      EXPECT_FALSE(fs::exists(s)) << s;
      EXPECT_NE(next.output.find("removed stale scratch directory " + s), std::string::npos) << next.output;
    }
  }
  // SIGHUP (a closed terminal) stops the run in order, like SIGTERM.
  TempDir d;
  pid_t pid = test::spawn_diorace({"run", "dma_thread", "--duration", "3600", "--store", "none", "--json",
                                   d.path + "/h.json"});
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st)) << "killed by signal " << WTERMSIG(st);
  EXPECT_EQ(WEXITSTATUS(st), 2);
  auto doc = nlohmann::json::parse(read_file(d.path + "/h.json"));
  EXPECT_TRUE(doc["complete"].get<bool>());
  EXPECT_NE(doc["cases"][0]["reason"].get<std::string>().find("interrupted"), std::string::npos) << doc.dump();
  EXPECT_TRUE(diorace_processes().empty());
}

// Defect 5: ENOSPC left .partial fixtures that filled the filesystem.
TEST(Hardening, FullDiskLeavesNoPartialFixture) {
  TempDir d;
  const std::string img = d.path + "/small.img", mnt = d.path + "/mnt";
  sh("truncate -s 8M " + img + " && mkfs.ext4 -q -F " + img);
  fs::create_directory(mnt);
  ASSERT_EQ(sh("mount -o loop " + img + " " + mnt + " && echo ok"), "ok");
  // A partial fixture a crash left behind: removed before anything is written.
  sh("dd if=/dev/zero of=" + mnt + "/diorace-aio_stress-shared.dat.partial bs=1M count=3 2>/dev/null");
  auto full = run_diorace({"run", "aio_stress", "--dir", mnt, "--iterations", "1", "--store", "none"});
  EXPECT_EQ(full.status, 2) << full.output;
  EXPECT_NE(full.output.find("No space left on device"), std::string::npos) << full.output;
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(mnt)) left.insert(e.path().filename().string());
  EXPECT_EQ(left, std::set<std::string>{"lost+found"});
  // A smaller case still fits afterwards.
  auto small = run_diorace({"run", "selftest_fixture", "--dir", mnt, "--iterations", "1", "--store", "none"});
  EXPECT_EQ(small.status, 0) << small.output;
  sh("umount " + mnt);
}

// Defect 6: lenient input that hid mistakes.
TEST(Hardening, LenientInputIsRefused) {
  TempDir d;
  write_file(d.path + "/dev.config", "TEST_DEV = /dev/null\nTEST_DIR = " + d.path + "\n");
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  } bad[] = {
      {{"run", "dma_thread", "--store", ""}, "--store: empty value"},
      {{"results", "list", "--store", ""}, "--store: empty value"},
      {{"run", "dma_thread", "--config", d.path}, "--config " + d.path + ": is a directory"},
      {{"run", "dma_thread", "--config", ""}, "--config: empty value"},
      {{"run", "dma_thread", "--dir", ""}, "--dir: empty value"},
      {{"run", "dma_thread", "--json", ""}, "--json: empty value"},
      {{"run", "dma_thread", "--force-device", "/dev/null"}, "--force-device goes with --device or --scratch-device"},
      {{"run", "dma_thread", "--device", "/dev/null", "--dir", d.path}, "--device and --dir exclude each other"},
      {{"run", "dma_thread", "--config", d.path + "/dev.config"}, "--device and --dir exclude each other"},
      {{"list", "extra"}, "list takes no argument 'extra'"},
      {{"run", "dma_thread", "--kmsg-ignore", ""}, "--kmsg-ignore: empty value"},
      {{"run", "dma_thread", "--kmsg-ignore", ".*"}, "--kmsg-ignore: '.*' matches the empty string"},
      {{"run", "dma_thread", "--kmsg-ignore", "x|"}, "--kmsg-ignore: 'x|' matches the empty string"},
      {{"run", "dma_thread", "--param", ""}, "--param: empty value"},
  };
  for (const auto& b : bad) expect_one_line_exit2(run_diorace(b.args), b.message);
  // A pattern that cannot match everything is still taken.
  auto ok = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", "--kmsg-ignore", "^nothing$"});
  EXPECT_EQ(ok.status, 0) << ok.output;
}

// Defect 7: messages that said the wrong thing.
TEST(Hardening, MessagesSayWhatIsWrong) {
  TempDir d;
  // A read-only store can be listed; writing to it says read-only.
  const std::string dir = d.path + "/ro", store = dir + "/s.sqlite";
  fs::create_directory(dir);
  ASSERT_EQ(run_diorace({"run", "dma_thread", "--iterations", "1", "--store", store, "-q"}).status, 0);
  ASSERT_EQ(sh("mount --bind " + dir + " " + dir + " && mount -o remount,ro,bind " + dir + " && echo ok"), "ok");
  auto list = run_diorace({"results", "list", "--store", store});
  EXPECT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("COMPLETE"), std::string::npos) << list.output;
  auto write = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", store, "-q"});
  EXPECT_EQ(write.status, 2) << write.output;
  EXPECT_NE(write.output.find("read-only"), std::string::npos) << write.output;
  sh("umount " + dir);
  expect_one_line_exit2(run_diorace({"results", "list", "--store", "mysql://x"}),
                        "unsupported store 'mysql://' (a SQLite file path, postgresql://... or none)");
  expect_one_line_exit2(run_diorace({"results", "list", "--store", "postgresql://nobody@127.0.0.1:1/none"}),
                        "store postgresql://nobody@127.0.0.1:1/none: ");
  // A NUL byte in a config file names its line.
  write_file(d.path + "/nul.config", std::string("TEST_DIR = /tmp\nFSTYPE = ext4\0\n", 31));
  expect_one_line_exit2(run_diorace({"run", "dma_thread", "--config", d.path + "/nul.config"}),
                        "nul.config: line 2 holds a NUL byte");
  // An unattached loop device is a usage error, not a SKIP.
  const std::string loop = sh("losetup -f");
  ASSERT_EQ(loop.rfind("/dev/loop", 0), 0u) << loop;
  if (fs::exists(loop))
    expect_one_line_exit2(run_diorace({"run", "dma_thread", "--device", loop, "--store", "none"}),
                          "--device " + loop + ": has no medium");
  // Cases an interrupted run never started are not "run WITHOUT a detector".
  pid_t pid = test::spawn_diorace({"run", "selftest_hang", "iowq_flags", "--iterations", "5", "--iteration-timeout",
                                   "60", "--store", "none", "--json", d.path + "/i.json"});
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ::kill(pid, SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGINT);
  int st = 0;
  ::waitpid(pid, &st, 0);
  auto doc = nlohmann::json::parse(read_file(d.path + "/i.json"));
  ASSERT_EQ(doc["cases"].size(), 2u) << doc.dump();
  EXPECT_EQ(doc["cases"][1]["reason"], "not run: interrupted");
  EXPECT_TRUE(doc["cases"][1].value("detectors_missing", nlohmann::json::array()).empty()) << doc["cases"][1].dump();
  // A vm run refused after its row was written is not listed as COMPLETE.
  const std::string vstore = d.path + "/v.sqlite";
  auto refused = run_diorace({"vm", "--kernel", "/etc/hostname", "--store", vstore, "--", "run", "nosuch"});
  EXPECT_EQ(refused.status, 2) << refused.output;
  auto rows = run_diorace({"results", "list", "--store", vstore, "--json"});
  ASSERT_EQ(rows.status, 0) << rows.output;
  auto j = nlohmann::json::parse(rows.output);
  ASSERT_EQ(j.size(), 1u) << rows.output;
  EXPECT_EQ(j[0]["status"], "REFUSED") << rows.output;
}

// Found by `prove --jobs 2` on a new store: processes opening one new SQLite
// store at once got "database is locked" from the switch to WAL.
TEST(Hardening, ConcurrentRunsCreateOneNewSqliteStore) {
  TempDir d;
  const std::string store = d.path + "/new.sqlite";
  std::vector<pid_t> pids;
  for (int i = 0; i < 6; ++i)
    pids.push_back(test::spawn_diorace({"run", "selftest_fixture", "--iterations", "1", "--dir", d.path, "--store",
                                        store, "-q", "--wait-lock"}));  // one directory: one run at a time
  for (pid_t p : pids) {
    int st = 0;
    ASSERT_EQ(::waitpid(p, &st, 0), p);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "a run failed (status 0x" << std::hex << st << ")";
  }
  auto list = run_diorace({"results", "list", "--store", store, "--json"});
  ASSERT_EQ(list.status, 0) << list.output;
  EXPECT_EQ(nlohmann::json::parse(list.output).size(), 6u) << list.output;
}
