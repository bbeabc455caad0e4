// SPDX-License-Identifier: GPL-2.0-or-later
// Hardening II (issue 23): what a hostile user found in the second pass.
// Each test reproduces one defect through the real program: no false FAIL
// (a second run on the same directory, a user-space kernel-log line, a full
// disk, a stopped task), nothing outside diorace's own files written, runs
// that end and leave the system as they found it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
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
using test::children_of;
using test::descendants;
using test::expect_one_line_exit2;


int wait_exit(pid_t pid, double& seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  int st = 0;
  ::waitpid(pid, &st, 0);
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace

// Defect 1: two runs sharing one --dir corrupted each other's files.
TEST(Hardening2, ASecondRunOnTheSameDirIsRefusedWithTheHoldersPidOrWaits) {
  TempDir d;
  pid_t first = test::spawn_diorace({"run", "aio_stress", "--dir", d.path, "--duration", "4", "--store", "none"});
  ::usleep(700000);
  auto second = run_diorace({"run", "aio_stress", "--dir", d.path, "--duration", "1", "--store", "none"});
  expect_one_line_exit2(second, "--dir " + d.path + ": in use by another diorace run (pid " + std::to_string(first) + ")");
  // The same directory under another name is the same lock.
  auto other_name = run_diorace({"run", "aio_stress", "--dir", d.path + "/.", "--duration", "1", "--store", "none"});
  EXPECT_EQ(other_name.status, 2) << other_name.output;
  // --wait-lock waits for it, then runs: no corruption either way.
  auto waited = run_diorace({"run", "aio_stress", "--dir", d.path, "--duration", "1", "--store", "none", "--wait-lock"});
  EXPECT_EQ(waited.status, 0) << waited.output;
  EXPECT_NE(waited.output.find("waiting (--wait-lock)"), std::string::npos) << waited.output;
  double s = 0;
  EXPECT_EQ(wait_exit(first, s), 0);
}

// Defect 2: a line user space wrote to /dev/kmsg became FAIL (splat).
TEST(Hardening2, AKernelLogLineWrittenByUserSpaceIsNoSplat) {
  if (::access("/dev/kmsg", W_OK) != 0) GTEST_SKIP() << "/dev/kmsg not writable";
  TempDir d;
  std::thread writer([] {
    ::usleep(1200000);
    auto fd = UniqueFd::open("/dev/kmsg", O_WRONLY);
    for (const char* l : {"<4>WARNING: CPU: 1 PID: 4242 at kernel/smp.c:912 smp_call_function_many_cond+0x0/0x0\n",
                          "<0>BUG: KASAN: use-after-free in aio_complete+0x0/0x0\n",
                          "<0>Kernel panic - not syncing: fake\n"})
      write_all(fd.get(), l, std::strlen(l), "kmsg");
  });
  const std::string json = d.path + "/r.json";
  auto r = run_diorace({"run", "aio_stress", "--dir", d.path, "--duration", "3", "--store", "none", "--json", json});
  writer.join();
  EXPECT_EQ(r.status, 0) << r.output;
  auto c = nlohmann::json::parse(read_file(json))["cases"][0];
  EXPECT_EQ(c["outcome"], "PASS") << c.dump(1);
  bool noted = false;
  for (const auto& ev : c["events"])
    noted |= ev["type"] == "note" && ev["text"].get<std::string>().find("written by user space") != std::string::npos;
  EXPECT_TRUE(noted) << c.dump(1);
}

// Defect 3: ENOSPC on a full filesystem was a FAIL (wrong_result).
TEST(Hardening2, AFullFilesystemIsAnErrorOfTheEnvironment) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (loop, mount)";
  TempDir d;
  const std::string img = d.path + "/full.img", mnt = d.path + "/mnt";
  fs::create_directory(mnt);
  ASSERT_EQ(sh("truncate -s 64M " + img + " && mkfs.ext4 -q -F " + img + " && mount -o loop " + img + " " + mnt +
               " && echo ok"),
            "ok");
  // Blocks freed by the first fill's preallocation at close go to a second.
  (void)sh("dd if=/dev/zero of=" + mnt + "/fill bs=1M 2>/dev/null; sync; dd if=/dev/zero of=" + mnt +
           "/fill2 bs=4k 2>/dev/null; sync");
  auto r = run_diorace({"run", "ext4_inline_dio", "--dir", mnt, "--iterations", "3", "--store", "none"});
  (void)sh("umount " + mnt);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ERROR ext4_inline_dio"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
}

// Defect 4: a stopped task was called hung; a tiny deadline was accepted.
TEST(Hardening2, StoppedTasksAreWaitedForNotCalledHung) {
  TempDir d;
  const std::string json = d.path + "/r.json";
  // The supervisor's iteration deadline: the case process group stopped for 3 s.
  pid_t pid = test::spawn_diorace({"run", "dma_thread", "--dir", d.path, "--duration", "6", "--iteration-timeout", "1",
                                   "--store", "none", "--json", json});
  ::usleep(2500000);
  auto kids = children_of(pid);
  ASSERT_FALSE(kids.empty());
  ::kill(-kids[0], SIGSTOP);
  ::sleep(3);
  ::kill(-kids[0], SIGCONT);
  double s = 0;
  EXPECT_EQ(wait_exit(pid, s), 0);
  auto c = nlohmann::json::parse(read_file(json))["cases"][0];
  EXPECT_EQ(c["outcome"], "PASS") << c.dump(1);
  EXPECT_NE(c.dump().find("a task stopped by a signal"), std::string::npos) << c.dump(1);
  // The whole tree, supervisor included, stopped 3 s (a freezer, a debugger
  // on diorace itself): no clock ran, so no deadline passed.
  pid = test::spawn_diorace({"run", "dma_thread", "--dir", d.path, "--duration", "6", "--iteration-timeout", "1",
                             "--store", "none", "--json", json});
  ::usleep(2500000);
  {
    std::vector<pid_t> tree = descendants(pid);
    tree.push_back(pid);
    for (pid_t p : tree) ::kill(p, SIGSTOP);
    ::sleep(3);
    for (pid_t p : tree) ::kill(p, SIGCONT);
  }
  EXPECT_EQ(wait_exit(pid, s), 0) << read_file(json);
  // A case's own deadline (uffd_dio_release's child): every process stopped 5 s.
  pid = test::spawn_diorace({"run", "uffd_dio_release", "--dir", d.path, "--duration", "8", "--store", "none", "--json",
                             json});
  ::usleep(3000000);
  auto all = descendants(pid);
  for (pid_t p : all) ::kill(p, SIGSTOP);
  ::sleep(5);
  for (pid_t p : descendants(pid)) ::kill(p, SIGCONT);
  for (pid_t p : all) ::kill(p, SIGCONT);
  const int code = wait_exit(pid, s);
  EXPECT_NE(code, 1) << read_file(json);
  EXPECT_EQ(read_file(json).find("\"FAIL\""), std::string::npos) << read_file(json);
  expect_one_line_exit2(run_diorace({"run", "aio_stress", "--iteration-timeout", "0.01", "--store", "none"}),
                        "--iteration-timeout must be at least 1 s");
}

// Defect 6: case files and images followed symbolic links planted in --dir.
TEST(Hardening2, PlantedLinksInTheDirectoryAreNeverFollowed) {
  TempDir d;
  const std::string victims = d.path + "/victims", dir = d.path + "/dir";
  fs::create_directories(victims);
  fs::create_directories(dir);
  write_file(victims + "/v1", "precious 1\n");
  write_file(victims + "/v2", "precious 2\n");
  fs::create_symlink(victims + "/v1", dir + "/diorace-aio_stress-own00.dat");
  fs::create_symlink(victims + "/v2", dir + "/diorace-ext4_inline_dio-fs.img");
  std::vector<std::string> args = {"run", "aio_stress", "--dir", dir, "--duration", "1", "--store", "none"};
  if (::geteuid() == 0) args.insert(args.begin() + 2, "ext4_inline_dio");
  auto r = run_diorace(args);
  EXPECT_EQ(read_file(victims + "/v1"), "precious 1\n");
  EXPECT_EQ(read_file(victims + "/v2"), "precious 2\n");
  EXPECT_NE(r.output.find("aio_stress"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
}

// Defect 7: an output could be the store, the config or another output.
TEST(Hardening2, AnOutputThatIsTheStoreTheConfigOrAnotherOutputIsRefused) {
  TempDir d;
  const std::string store = d.path + "/s.sqlite", conf = d.path + "/local.config";
  ASSERT_EQ(run_diorace({"run", "aio_stress", "--duration", "1", "--store", store, "-q"}).status, 0);
  write_file(conf, "FSTYPE = ext4\n");
  expect_one_line_exit2(run_diorace({"run", "aio_stress", "--duration", "1", "--store", store, "--json", store}),
                        "--json " + store + ": is the file of --store");
  expect_one_line_exit2(run_diorace({"results", "export", "--html", store, "--store", store}),
                        "--html " + store + ": is the file of --store");
  expect_one_line_exit2(run_diorace({"report", "--html", d.path + "/./s.sqlite", "--store", store}),
                        "is the file of --store");
  expect_one_line_exit2(run_diorace({"run", "aio_stress", "--config", conf, "--junit", conf, "--store", "none"}),
                        "--junit " + conf + ": is the file of --config");
  expect_one_line_exit2(run_diorace({"run", "aio_stress", "--store", "none", "--json", d.path + "/x", "--junit",
                                     d.path + "/x"}),
                        "--json and --junit name the same file");
  // The store is intact: its run is still there.
  auto list = run_diorace({"results", "list", "--json", "--store", store});
  ASSERT_EQ(list.status, 0) << list.output;
  EXPECT_EQ(nlohmann::json::parse(list.output).size(), 1u);
  EXPECT_EQ(read_file(conf), "FSTYPE = ext4\n");
}

// Defect 8: a run could fill the host's disk; SIGTERM did not stop fixture writing.
TEST(Hardening2, ARunThatWouldFillTheDiskIsRefusedAndAnInterruptStopsTheWrite) {
  TempDir d;
  auto big = run_diorace({"run", "dma_thread", "--dir", d.path, "--param", "files=1000", "--param",
                          "file_size_mib=4096", "--store", "none"});
  expect_one_line_exit2(big, "the selected cases would write up to");
  EXPECT_NE(big.output.find("dma_thread alone: 4096008 MiB"), std::string::npos) << big.output;
  // The background-contention file counts too: on a 32 MiB filesystem.
  if (::geteuid() == 0) {
    const std::string small = d.path + "/small";
    fs::create_directories(small);
    ASSERT_EQ(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=32m"), 0);
    auto cont = run_diorace({"run", "dma_thread", "--dir", small, "--param", "contention_file_mib=64", "--param",
                             "contention_readers=1", "--store", "none"});
    ::umount(small.c_str());
    expect_one_line_exit2(cont, "would write up to 68 MiB to " + small);
    fs::remove(small);
  }
  // SIGTERM while a large fixture is being written: it stops at once and
  // no partial file stays.
  pid_t pid = test::spawn_diorace({"run", "dma_thread", "--dir", d.path, "--param", "files=8", "--param",
                                   "file_size_mib=1024", "--store", "none"});
  ::usleep(800000);
  ::kill(pid, SIGTERM);
  double s = 0;
  EXPECT_EQ(wait_exit(pid, s), 2);
  EXPECT_LT(s, 5.0);
  for (const auto& e : d.entries()) EXPECT_EQ(e.find(".partial"), std::string::npos) << e;
}

// Defect 9: a thread that could not be created deadlocked the case.
TEST(Hardening2, AThreadThatCannotBeCreatedIsAnErrorAtOnce) {
  TempDir d;
  // Fixtures first, so that the limited run only starts threads.
  ASSERT_EQ(run_diorace({"run", "dma_thread", "--dir", d.path, "--iterations", "1", "--store", "none", "-q"}).status, 0);
  const auto t0 = std::chrono::steady_clock::now();
  // 200 MB of address space: 40 workers' stacks (8 MiB each) do not fit.
  auto r = run_command({"sh", "-c", std::string("ulimit -v 200000 && exec ") + DIORACE_BIN + " run dma_thread --dir " +
                                        d.path + " --duration 1 --store none --param workers=40"},
                       std::chrono::seconds(120));
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 60.0) << r.output;
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
}

namespace {

// Loop devices whose backing file is one of diorace's (its images).
std::vector<std::string> diorace_loops() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/block", ec)) {
    std::string b;
    if (!try_read_file(e.path().string() + "/loop/backing_file", b)) continue;
    if (b.find("diorace-loop_dio_freeze") != std::string::npos || b.find("/image") != std::string::npos)
      out.push_back(e.path().filename().string() + " over " + b);
  }
  return out;
}

// The task sits in poll() or ppoll() (the first field of /proc/PID/syscall,
// readable by root).
bool waits_in_poll(pid_t pid) {
  std::string s;
  if (!try_read_file("/proc/" + std::to_string(pid) + "/syscall", s)) return false;
  for (long nr : {
#ifdef SYS_poll
           static_cast<long>(SYS_poll),
#endif
           static_cast<long>(SYS_ppoll)})
    if (s.rfind(std::to_string(nr) + " ", 0) == 0) return true;
  return false;
}

}  // namespace

// Defect 10: killing the whole tree during the freeze window left the backing
// ext4 frozen and two loop devices attached; the next run did not notice.
TEST(Hardening2, WhatAKilledFreezeLeftIsThawedAndDetachedByTheNextRun) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(diorace_loops().empty()) << "loop devices of an earlier run are attached";
  bool killed = false;
  for (int attempt = 0; attempt < 3 && !killed; ++attempt) {
    pid_t pid = test::spawn_diorace({"run", "loop_dio_freeze", "--duration", "30", "--store", "none", "--param",
                                     "window_ms=2000"});
    // The freeze guardian is a child of the case process in a group of its
    // own, alive only while the filesystem is frozen: kill everything then,
    // parent, case and guardian at once (a CI cgroup kill, the OOM killer).
    // Only once it waits in poll(): it has frozen (a kill just after its fork
    // would leave nothing, CI's run of the ninth session).
    for (int i = 0; i < 400 && !killed; ++i, ::usleep(25000)) {
      auto kids = children_of(pid);
      if (kids.empty()) continue;
      for (pid_t g : children_of(kids[0]))
        if (::getpgid(g) == g && waits_in_poll(g)) {
          std::vector<pid_t> all = descendants(pid);
          all.push_back(pid);
          for (pid_t p : all) ::kill(p, SIGKILL);
          killed = true;
          break;
        }
    }
    ::waitpid(pid, nullptr, 0);
  }
  ASSERT_TRUE(killed) << "never saw the freeze guardian";
  ::sleep(1);
  const auto left = diorace_loops();
  EXPECT_FALSE(left.empty()) << "the kill left nothing: the defect's set-up did not happen";
  // The next run undoes it before it starts, and says so.
  auto next = run_diorace({"run", "aio_stress", "--duration", "1", "--store", "none"});
  EXPECT_EQ(next.status, 0) << next.output;
  EXPECT_NE(next.output.find("thawed ext4 on /dev/loop"), std::string::npos) << next.output;
  for (int i = 0; i < 50 && !diorace_loops().empty(); ++i) ::usleep(100000);
  EXPECT_TRUE(diorace_loops().empty());
  // No task is left in D state behind a frozen filesystem.
  EXPECT_EQ(sh("ps -eo stat,comm | awk '$1 ~ /^D/ && $2 ~ /loop/' | wc -l"), "0");
  auto clean = run_diorace({"cleanup"});
  EXPECT_EQ(clean.status, 0);
  EXPECT_NE(clean.output.find("nothing left behind"), std::string::npos) << clean.output;
}

// Defect 11 through the program: a crafted document that says PASS after 0
// iterations, and random bytes, are no passing run.
TEST(Hardening2, ImportedResultsFollowTheRulesOfALocalRun) {
  TempDir d;
  const std::string doc = d.path + "/run.json", store = d.path + "/s.sqlite";
  ASSERT_EQ(run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", "--json", doc, "-q"}).status, 0);
  auto j = nlohmann::json::parse(read_file(doc));
  j["cases"][0]["iterations"] = 0;
  write_file(doc, j.dump());
  auto rep = run_command({"env", "PATH=/usr/bin:/bin", DIORACE_BIN, "lava-report", "--document", doc});
  std::string log;
  std::istringstream is(rep.output);
  for (std::string line; std::getline(is, line);)
    log += "- {\"dt\": \"2026-12-06T00:00:01\", \"lvl\": \"target\", \"msg\": " + nlohmann::json(line).dump() + "}\n";
  write_file(d.path + "/job.yaml", log);
  auto imp = run_diorace({"results", "import-lava", d.path + "/job.yaml", "--store", store});
  EXPECT_EQ(imp.status, 0) << imp.output;
  EXPECT_NE(imp.output.find("ERROR"), std::string::npos) << imp.output;
  EXPECT_NE(imp.output.find("completed no iteration"), std::string::npos) << imp.output;
  std::string noise(1 << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (auto& c : noise) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x);
  }
  write_file(d.path + "/noise.yaml", noise);
  expect_one_line_exit2(run_diorace({"results", "import-lava", d.path + "/noise.yaml", "--store", store}),
                        "not a LAVA job log");
}

// Defect 12: an error in the middle of a run lost the cases that finished.
TEST(Hardening2, AnErrorMidRunKeepsEveryCaseAndIsSaidOnce) {
  TempDir d;
  // The --json directory removed while the first case runs.
  const std::string out = d.path + "/out";
  fs::create_directories(out);
  std::thread remover([&] {
    ::usleep(1000000);
    fs::remove_all(out);
  });
  auto r = run_diorace({"run", "aio_stress", "dma_thread", "--duration", "2", "--store", "none", "--json",
                        out + "/r.json"});
  remover.join();
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("PASS  aio_stress"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PASS  dma_thread"), std::string::npos) << r.output;
  size_t said = 0;
  for (size_t p = r.output.find("--json " + out); p != std::string::npos; p = r.output.find("--json " + out, p + 1))
    ++said;
  EXPECT_EQ(said, 1u) << r.output;
  // The store locked by another process for longer than its 30 s patience:
  // the cases still run, and the whole run goes to a recovery file.
  const std::string store = d.path + "/s.sqlite";
  ASSERT_EQ(run_diorace({"run", "aio_stress", "--duration", "1", "--store", store, "-q"}).status, 0);
  pid_t locker = ::fork();
  if (locker == 0) {
    ::execlp("python3", "python3", "-c",
             "import sqlite3,sys,time\n"
             "c=sqlite3.connect(sys.argv[1],isolation_level=None)\n"
             "c.execute('BEGIN EXCLUSIVE')\n"
             "time.sleep(45)\n",
             store.c_str(), nullptr);
    ::_exit(127);
  }
  ::usleep(500000);
  auto locked = run_diorace({"run", "aio_stress", "dma_thread", "--duration", "1", "--store", store});
  ::kill(locker, SIGKILL);
  ::waitpid(locker, nullptr, 0);
  EXPECT_EQ(locked.status, 2) << locked.output;
  EXPECT_NE(locked.output.find("PASS  aio_stress"), std::string::npos) << locked.output;
  EXPECT_NE(locked.output.find("PASS  dma_thread"), std::string::npos) << locked.output;
  const auto at = locked.output.find("the whole run is in ");
  ASSERT_NE(at, std::string::npos) << locked.output;
  std::string recovery = locked.output.substr(at + 20);
  recovery = recovery.substr(0, recovery.find_first_of(" \n"));
  auto rec = nlohmann::json::parse(read_file(recovery));
  EXPECT_EQ(rec["cases"].size(), 2u);
  fs::remove(recovery);
  // A run in progress cannot be deleted from under it.
  pid_t running = test::spawn_diorace({"run", "aio_stress", "--duration", "4", "--store", store});
  std::string id;
  for (int i = 0; i < 50 && id.empty(); ++i, ::usleep(100000)) {
    auto l = run_diorace({"results", "list", "--json", "--store", store});
    for (const auto& run : nlohmann::json::parse(l.status == 0 ? l.output : "[]"))
      if (run.value("status", "") == "INCOMPLETE") id = std::to_string(run["id"].get<int64_t>());
  }
  ASSERT_FALSE(id.empty());
  expect_one_line_exit2(run_diorace({"results", "delete", id, "--store", store}), "is in progress");
  double s = 0;
  EXPECT_EQ(wait_exit(running, s), 0);
  EXPECT_EQ(run_diorace({"results", "delete", id, "--store", store}).status, 0);
}

// Lesser defects: the store's file and name, and the environment naming it.
TEST(Hardening2, TheStoreIsARegularFileAndItsNameAnyName) {
  TempDir d;
  const std::string dev = d.path + "/mynull";
  ASSERT_EQ(::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  expect_one_line_exit2(run_diorace({"run", "aio_stress", "--duration", "1", "--store", dev}),
                        "--store " + dev + ": not a regular file");
  EXPECT_FALSE(fs::exists(dev + "-journal"));
  auto empty = run_command({"env", "DIORACE_STORE=", DIORACE_BIN, "results", "list"});
  expect_one_line_exit2(empty, "DIORACE_STORE is set but empty");
  // A name with '#', '%' and '?' in a directory that cannot be written
  // (immutable): listed read-only, found by its real name.
  const std::string imm = d.path + "/imm", store = imm + "/a#b%25c?.sqlite";
  fs::create_directories(imm);
  ASSERT_EQ(run_diorace({"run", "aio_stress", "--duration", "1", "--store", store, "-q"}).status, 0);
  if (::geteuid() == 0 && sh("chattr +i " + imm + " 2>/dev/null && echo ok") == "ok") {
    auto list = run_diorace({"results", "list", "--store", store});
    (void)sh("chattr -i " + imm);
    EXPECT_EQ(list.status, 0) << list.output;
    EXPECT_NE(list.output.find("COMPLETE"), std::string::npos) << list.output;
  }
  // A damaged store is named in its error.
  write_file(d.path + "/bad.sqlite", std::string(8192, 'x'));
  auto bad = run_diorace({"results", "list", "--store", d.path + "/bad.sqlite"});
  expect_one_line_exit2(bad, "store " + d.path + "/bad.sqlite");
  // A server that is down: one line, words kept together.
  auto pg = run_diorace({"results", "list", "--store", "postgresql://127.0.0.1:1/none"});
  EXPECT_EQ(pg.status, 2);
  EXPECT_EQ(pg.output.find("connection; to"), std::string::npos) << pg.output;
  EXPECT_LE(std::count(pg.output.begin(), pg.output.end(), '\n'), 1) << pg.output;
}

// Lesser defects: lenient numbers and config files.
TEST(Hardening2, NumbersAndConfigFilesAreReadStrictly) {
  TempDir d;
  expect_one_line_exit2(run_diorace({"run", "dma_thread", "--param", "alignment=010"}), "has a leading zero");
  expect_one_line_exit2(run_diorace({"run", "dma_thread", "--duration", "0x10"}), "is invalid");
  expect_one_line_exit2(run_diorace({"run", "dma_thread", "--duration", " 1"}), "is invalid");
  expect_one_line_exit2(run_diorace({"run", "dma_thread", "--param", "workers=4", "--param", "workers=8"}),
                        "parameter workers given twice");
  const std::string c = d.path + "/c.config";
  write_file(c, "FSTYPE = ext4\nFSTYPE = xfs\n");
  expect_one_line_exit2(run_diorace({"config", "--config", c}), "key FSTYPE given twice");
  write_file(c, "[a]\nFSTYPE = ext4\n[b]\nFSTYPE = xfs\n[a]\nTEST_DIR = /tmp\n");
  expect_one_line_exit2(run_diorace({"config", "--config", c, "--section", "a"}), "section [a] appears twice");
  write_file(c, "FSTYPE = btrfs\n");
  expect_one_line_exit2(run_diorace({"config", "--config", c}), "FSTYPE in " + c + " 'btrfs'");
  // A byte-order mark is no part of the first key.
  write_file(c, "\xEF\xBB\xBF" "FSTYPE = xfs\n");
  auto bom = run_diorace({"config", "--config", c, "--get", "FSTYPE"});
  EXPECT_EQ(bom.status, 0) << bom.output;
  EXPECT_EQ(bom.output, "xfs\n");
  // What `config` prints is a config file diorace reads back.
  auto printed = run_diorace({"config", "--config", c});
  ASSERT_EQ(printed.status, 0);
  write_file(d.path + "/again.config", printed.output);
  EXPECT_EQ(run_diorace({"config", "--config", d.path + "/again.config"}).status, 0) << printed.output;
  // Quotes in MKFS_OPTIONS group words; an unbalanced one is refused.
  expect_one_line_exit2(run_diorace({"run", "dio_wq_teardown", "--mkfs-options", "-L \"my label"}),
                        "unbalanced quote");
  if (::geteuid() == 0) {
    auto quoted = run_diorace({"run", "dio_wq_teardown", "--dir", d.path, "--iterations", "1", "--store", "none",
                               "--mkfs-options", "-L \"my l\""});
    EXPECT_EQ(quoted.status, 0) << quoted.output;
    // --mkfs-options given with --fstype xfs are not handed to ext4-only cases.
    auto xfs = run_diorace({"run", "ext4_inline_dio", "--dir", d.path, "--iterations", "1", "--store", "none",
                            "--fstype", "xfs", "--mkfs-options", "-m reflink=1"});
    EXPECT_EQ(xfs.status, 0) << xfs.output;
    // A failing mkfs says why in a line or two, not its usage text.
    auto mk = run_diorace({"run", "dio_wq_teardown", "--dir", d.path, "--iterations", "1", "--store", "none",
                           "--mkfs-options", "--no-such-option"});
    EXPECT_EQ(mk.status, 2) << mk.output;
    EXPECT_LE(std::count(mk.output.begin(), mk.output.end(), '\n'), 3) << mk.output;
  }
}

// Lesser defects: what a run says of itself.
TEST(Hardening2, RunsSayWhatHappenedToThem) {
  TempDir d;
  // A read-only device is refused up front, not at the first write.
  if (::geteuid() == 0) {
    const std::string img = d.path + "/ro.img";
    write_file(img, "");
    ::truncate(img.c_str(), 64 << 20);
    const std::string loop = sh("losetup -r -f --show " + img);
    ASSERT_EQ(loop.rfind("/dev/loop", 0), 0u) << loop;
    auto ro = run_diorace({"run", "dma_thread", "--device", loop, "--store", "none"});
    (void)sh("losetup -d " + loop);
    expect_one_line_exit2(ro, "is read-only: add --read-only");
  }
  // A case process killed after 2 s: its iterations and time, not 0 and 0.0 s.
  const std::string json = d.path + "/r.json";
  pid_t pid = test::spawn_diorace({"run", "dma_thread", "--dir", d.path, "--duration", "20", "--store", "none",
                                   "--json", json});
  ::usleep(2500000);
  auto kids = children_of(pid);
  ASSERT_FALSE(kids.empty());
  ::kill(kids[0], SIGKILL);
  double s = 0;
  EXPECT_EQ(wait_exit(pid, s), 2);
  auto c = nlohmann::json::parse(read_file(json))["cases"][0];
  EXPECT_EQ(c["outcome"], "ERROR") << c.dump(1);
  EXPECT_NE(c["reason"].get<std::string>().find("signal 9"), std::string::npos) << c.dump(1);
  EXPECT_GT(c["duration_s"].get<double>(), 1.0) << c.dump(1);
  EXPECT_GT(c["iterations"].get<int>(), 0) << c.dump(1);
  // Not the `error:` prefix, and no blank line before a message.
  auto err = run_diorace({"results", "show", "1", "--store", d.path + "/none.sqlite"});
  EXPECT_EQ(err.output.find("error:"), std::string::npos) << err.output;
  EXPECT_EQ(err.output.find("\n\n"), std::string::npos) << err.output;
  // A replaced output keeps its mode and owner.
  const std::string out = d.path + "/keep.json";
  write_file(out, "{}");
  ASSERT_EQ(::chmod(out.c_str(), 0640), 0);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(out.c_str(), 65534, 65534), 0);
  }
  ASSERT_EQ(run_diorace({"run", "aio_stress", "--duration", "1", "--store", "none", "--json", out, "-q"}).status, 0);
  struct stat st{};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 65534u);
  }
  // Not root: a PASS without the kernel-log oracle says so on its line.
  if (::geteuid() == 0 && sh("command -v setpriv") != "") {
    const std::string nd = d.path + "/nobody";
    fs::create_directories(nd);
    ::chmod(d.path.c_str(), 0711);
    ::chmod(nd.c_str(), 0777);
    auto r = run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", DIORACE_BIN, "run",
                          "aio_stress", "--dir", nd, "--duration", "1", "--store", "none"},
                         std::chrono::seconds(120));
    EXPECT_NE(r.output.find("PASS  aio_stress"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("[kernel-log oracle OFF:"), std::string::npos) << r.output;
  }
}

// `bisect-step` under `git bisect run`: a stop request is neither good, bad
// nor skip. Stopped while it builds, it exits 255 (git bisect run stops)
// at once, and the build goes with it.
TEST(Hardening2, AStoppedBisectStepAbortsTheBisectRunInsteadOfJudging) {
  TempDir d;
  const std::string marker = d.path + "/built";
  pid_t pid = test::spawn_diorace({"bisect-step", "--case", "dma_thread", "--kernel", "/nonexistent/bzImage", "--runs",
                                   "1", "--store", "none", "--build-cmd", "sleep 30 && touch " + marker});
  ::usleep(1500000);
  ::kill(pid, SIGTERM);
  double s = 0;
  EXPECT_EQ(wait_exit(pid, s), 255);
  EXPECT_LT(s, 10.0);
  ::sleep(1);
  EXPECT_EQ(run_command({"pgrep", "-f", "touch " + marker}).output, "") << "the build runs on";
}
