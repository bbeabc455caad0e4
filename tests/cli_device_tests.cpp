// SPDX-License-Identifier: GPL-2.0-or-later
// Real block devices (loop devices standing in for disks): the safety checks
// before any write, targets on a device and a scratch device, the config
// file, cleanup after SIGINT at random points, and the bad-input table.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "test_util.hpp"

using namespace diorace;
namespace fs = std::filesystem;

namespace {

using test::run_diorace;
using test::sh;
using test::spawn_diorace;


// A sparse file and a loop device over it, both removed at the end.
struct Loop {
  std::string file, dev;
  explicit Loop(const std::string& name, const std::string& size = "512M") {
    file = "/var/tmp/diorace-devtest-" + name + "-" + std::to_string(::getpid()) + ".img";
    sh("truncate -s " + size + " " + file);
    dev = sh("losetup -f --show --direct-io=on " + file);
    if (dev.rfind("/dev/loop", 0) != 0) throw std::runtime_error("losetup: " + dev);
  }
  ~Loop() {
    sh("losetup -d " + dev);
    fs::remove(file);
  }
  std::string digest() const { return sh("md5sum < " + dev); }
  // An active swap area's pages after its header are the kernel's to write
  // (CI's run of the ninth session saw them change once). What a refused run
  // must leave alone is the rest: the header page and the device beyond an
  // area of `area_kib` (mkswap DEVICE AREA_KIB).
  std::string outside_swap_digest(long area_kib) const {
    return sh("{ head -c 4096 " + dev + "; tail -c +" + std::to_string(area_kib * 1024 + 1) + " " + dev +
              "; } | md5sum");
  }
};

std::set<std::string> loop_backings() {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator("/sys/class/block")) {
    std::string b;
    if (try_read_file(e.path().string() + "/loop/backing_file", b)) s.insert(b);
  }
  return s;
}

std::set<std::string> scratch_dirs() {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator("/var/tmp")) {
    auto n = e.path().filename().string();
    if (n.rfind("diorace-", 0) == 0 && n.size() == 14) s.insert(n);  // diorace-XXXXXX
  }
  return s;
}

}  // namespace

// Every write case refuses a device that looks used, with the reason and
// exit 2, and leaves it byte-identical; --force-device naming it overrides.
TEST(Device, RefusesUsedDevicesAndLeavesThemUntouched) {
  const std::vector<std::string> all = {"run", "all", "--iterations", "1", "--store", "none"};
  auto refused = [&](const std::string& dev, const std::string& why) {
    auto args = all;
    args.insert(args.end(), {"--device", dev});
    auto r = run_diorace(args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("refusing to write to"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(why), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--force-device"), std::string::npos) << r.output;
  };
  {  // a filesystem signature
    Loop l("ext4");
    sh("mkfs.ext4 -q -F " + l.dev);
    auto before = l.digest();
    refused(l.dev, "filesystem signature (ext4)");
    // Also through a symlink: the refusal names the device that is meant.
    const std::string link = "/var/tmp/diorace-devtest-link-" + std::to_string(::getpid());
    fs::remove(link);
    fs::create_symlink(l.dev, link);
    auto viasym = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", "--device", link});
    EXPECT_EQ(viasym.status, 2);
    EXPECT_NE(viasym.output.find("is " + l.dev), std::string::npos) << viasym.output;
    fs::remove(link);
    EXPECT_EQ(l.digest(), before) << "the device was written although refused";
    auto forced = run_diorace({"run", "dma_thread", "forkscrew", "--iterations", "2", "--store", "none", "--device",
                               l.dev, "--force-device", l.dev});
    EXPECT_EQ(forced.status, 0) << forced.output;
    EXPECT_NE(l.digest(), before) << "the forced run wrote nothing";
  }
  {  // mounted
    Loop l("mounted");
    sh("mkfs.ext4 -q -F " + l.dev);
    const std::string mnt = "/var/tmp/diorace-devtest-mnt-" + std::to_string(::getpid());
    fs::create_directories(mnt);
    ASSERT_EQ(::mount(l.dev.c_str(), mnt.c_str(), "ext4", MS_RDONLY, nullptr), 0);
    auto before = l.digest();
    refused(l.dev, "is mounted at " + mnt);
    EXPECT_EQ(l.digest(), before);
    ::umount(mnt.c_str());
    fs::remove(mnt);
  }
  {  // swap (only refused here: overwriting active swap would hurt this machine)
    Loop l("swap", "64M");
    constexpr long kAreaKib = 16 * 1024;
    sh("mkswap " + l.dev + " " + std::to_string(kAreaKib));
    if (sh("swapon " + l.dev + " && echo on") == "on") {
      const auto before = l.outside_swap_digest(kAreaKib);
      refused(l.dev, "is used as swap");
      EXPECT_EQ(l.outside_swap_digest(kAreaKib), before) << "the device was written although refused";
      sh("swapoff " + l.dev);
    } else {
      ADD_FAILURE() << "swapon failed on " << l.dev;
    }
  }
  {  // held: another loop device over it
    Loop l("held");
    auto before = l.digest();
    std::string upper = sh("losetup -f --show " + l.dev);
    refused(l.dev, "backs " + fs::path(upper).filename().string());
    EXPECT_EQ(l.digest(), before);
    auto forced = run_diorace({"run", "dma_thread", "--iterations", "1", "--store", "none", "--device", l.dev,
                               "--force-device", l.dev});
    EXPECT_EQ(forced.status, 0) << forced.output;
    sh("losetup -d " + upper);
  }
}

// Fixtures on a block device: the cases run there, the fault injector proves
// the FAIL path, and --read-only reads what an earlier run wrote.
TEST(Device, CasesRunOnADeviceAndReadOnlyWritesNothing) {
  Loop l("target");
  auto r = run_diorace({"run", "dma_thread", "forkscrew", "uring_fork", "aio_stress", "iowq_flags", "ipi_storm",
                        "--iterations", "2", "--store", "none", "--device", l.dev});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("SKIP"), std::string::npos) << r.output;
  auto bad = run_diorace({"run", "dma_thread", "--iterations", "2", "--store", "none", "--device", l.dev,
                          "--inject-fault", "flip"});
  EXPECT_EQ(bad.status, 1) << bad.output;
  // The last case written keeps its fixtures: read them read-only.
  ASSERT_EQ(run_diorace({"run", "forkscrew", "--iterations", "1", "--store", "none", "--device", l.dev}).status, 0);
  auto before = l.digest();
  auto ro = run_diorace({"run", "forkscrew", "--iterations", "3", "--store", "none", "--device", l.dev, "--read-only"});
  EXPECT_EQ(ro.status, 0) << ro.output;
  auto writer = run_diorace({"run", "aio_stress", "--iterations", "1", "--store", "none", "--device", l.dev,
                             "--read-only"});
  EXPECT_EQ(writer.status, 4) << writer.output;  // SKIP: it writes
  EXPECT_EQ(l.digest(), before) << "--read-only wrote to the device";
}

// dio_wq_teardown on a scratch loop device named in a config file section;
// config errors are one line and exit 2; the environment overrides the file.
TEST(Device, ConfigFileNamesTheScratchDevice) {
  Loop l("scratch");
  const std::string cfg = "/var/tmp/diorace-devtest-" + std::to_string(::getpid()) + ".config";
  write_file(cfg, "# diorace test config\nFSTYPE = ext4\n[loopbox]\nSCRATCH_DEV = " + l.dev + "\nFSTYPE = xfs\n");
  auto r = run_diorace({"run", "dio_wq_teardown", "--iterations", "2", "--store", "none", "--config", cfg, "--section",
                        "loopbox", "--json", cfg + ".json"});
  EXPECT_EQ(r.status, 0) << r.output;
  std::string doc;
  ASSERT_TRUE(try_read_file(cfg + ".json", doc));
  EXPECT_NE(doc.find("\"scratch_device\": \"" + l.dev + "\""), std::string::npos) << doc;
  EXPECT_NE(doc.find("\"fs\": \"xfs\""), std::string::npos) << "the section's FSTYPE";
  // The case left the scratch device without its signature: the next run is not refused.
  EXPECT_EQ(sh("blkid -p " + l.dev + " >/dev/null 2>&1; echo $?"), "2");
  write_file(cfg, "TEST_DIR = /var/tmp\nBOGUS = 1\n");
  auto unknown = run_diorace({"run", "dma_thread", "--iterations", "1", "--config", cfg});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.output.find("unknown key 'BOGUS'"), std::string::npos) << unknown.output;
  write_file(cfg, "TEST_DIR = /nonexistent-diorace\n");
  auto nosec = run_diorace({"run", "dma_thread", "--iterations", "1", "--config", cfg, "--section", "nope"});
  EXPECT_EQ(nosec.status, 2);
  EXPECT_NE(nosec.output.find("no section [nope]"), std::string::npos) << nosec.output;
  auto fromfile = run_diorace({"run", "dma_thread", "--iterations", "1", "--config", cfg});
  EXPECT_EQ(fromfile.status, 2);
  EXPECT_NE(fromfile.output.find("--dir /nonexistent-diorace"), std::string::npos) << fromfile.output;
  auto env = run_command({"env", "DIORACE_TEST_DIR=/var/tmp", DIORACE_BIN, "run", "dma_thread", "--iterations", "1",
                          "--store", "none", "--config", cfg},
                         std::chrono::seconds(120));
  EXPECT_EQ(env.status, 0) << "the environment overrides the file: " << env.output;
  for (auto f : {cfg, cfg + ".json"}) fs::remove(f);
  for (const auto& e : fs::directory_iterator("/var/tmp"))
    if (e.path().filename().string().rfind("diorace-dma_thread-", 0) == 0) fs::remove(e.path());
}

// `run all` with no target creates its scratch directory and dio_wq_teardown
// its loop device, and removes both; after SIGINT (once, or twice to abort at
// once) at random points, no loop device, mount, process or file is left.
TEST(Device, SigintAtRandomPointsLeavesNothingBehind) {
  std::mt19937 rng(12345);
  const auto loops_before = loop_backings();
  const auto dirs_before = scratch_dirs();
  for (int round = 0; round < 10; ++round) {
    pid_t pid = spawn_diorace({"run", "all", "--duration", "1", "--store", "none"});
    ASSERT_GE(pid, 0);
    const int delay_ms = 200 + static_cast<int>(rng() % 9000);
    const bool twice = round % 2 == 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGINT);
    if (twice) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
      ::kill(pid, SIGINT);
    }
    int st = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (::waitpid(pid, &st, WNOHANG) == 0) {
      ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60)) << "round " << round << " did not stop";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(WIFEXITED(st)) << "round " << round;
    EXPECT_TRUE(WEXITSTATUS(st) == 2 || WEXITSTATUS(st) == 0) << "round " << round << " exit " << WEXITSTATUS(st);
    // Loop devices autoclear once the case's mount namespace is gone: allow a moment.
    for (int i = 0; i < 50 && loop_backings() != loops_before; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(loop_backings(), loops_before) << "round " << round << " (SIGINT after " << delay_ms << " ms"
                                             << (twice ? ", twice" : "") << ")";
    EXPECT_EQ(read_file("/proc/self/mountinfo").find("diorace"), std::string::npos) << "round " << round;
    EXPECT_EQ(run_command({"pgrep", "-x", "diorace"}).status, 1) << "round " << round << ": a process is left";
    EXPECT_EQ(scratch_dirs(), dirs_before) << "round " << round;
  }
}

// The README's bad-input table: each row's message and exit code.
TEST(Device, BadInputTable) {
  struct Row {
    std::vector<std::string> args;
    std::string message;
    int code;
  };
  const std::vector<Row> rows = {
      {{"run", "--device", "/nonexistent"}, "--device /nonexistent: No such file or directory", 2},
      {{"run", "--device", "/etc/hostname"}, "--device /etc/hostname: not a block device", 2},
      {{"run", "--scratch-device", "/etc/hostname"}, "--scratch-device /etc/hostname: not a block device", 2},
      {{"run", "--read-only"}, "--read-only goes with --device", 2},
      {{"run", "--fstype", "btrfs"}, "--fstype must be ext4 or xfs", 2},
      {{"run", "--config", "/nonexistent.conf"}, "--config /nonexistent.conf: cannot be read", 2},
      {{"run", "--section", "x"}, "--section x needs --config FILE", 2},
      {{"run", "--store", "/nonexistent/s.sqlite", "--iterations", "1", "dma_thread"}, "does not exist", 2},
      {{"run", "--origin", "Not Valid", "--store", "none", "dma_thread"}, "a KCIDB origin is", 2},
      {{"run", "--iterations", "0"}, "--iterations must be at least 1", 2},
      {{"run", "--duration", "-1"}, "--duration must be positive", 2},
      {{"run", "nosuch"}, "unknown case 'nosuch'", 2},
      {{"run", "--param", "bogus=1"}, "unknown parameter 'bogus'", 2},
      {{"run", "--param", "dma_thread.alignment=5000", "dma_thread"}, "out of range", 2},
      {{"run", "--dir", "/nope"}, "--dir /nope: No such file or directory", 2},
      {{"results", "show", "abc", "--store", "/nonexistent.sqlite"}, "no such store", 2},
      {{"results", "frobnicate", "--store", "none"}, "unknown results command 'frobnicate'", 2},
      {{"results", "show", "1", "--store", "none"}, "no store to read", 2},
      {{"bisect", "--case", "dma_thread", "--kernels", "x"}, "--kernels needs at least two kernels", 2},
      {{"bisect", "--case", "dma_thread", "--kernels", "a", "b"}, "neither an image file nor a Debian package", 2},
      {{"bisect-step", "--case", "dma_thread", "--kernel", "x"}, "give --runs N or --p P", 125},
      {{"vm", "--deb", "linux-image-x", "--", "run", "--device", "/dev/sda"}, "is for runs on this machine", 2},
      {{"vm", "--deb", "linux-image-x", "--", "exec", "--limit", "1200", "--", "true"},
       "exec --limit 1200 s does not fit in vm --timeout 900 s",
       2},
      {{"report"}, "report: give --html FILE", 2},
  };
  for (const auto& row : rows) {
    auto r = run_diorace(row.args, 60);
    std::string cmd;
    for (const auto& a : row.args) cmd += a + " ";
    EXPECT_EQ(r.status, row.code) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find(row.message), std::string::npos) << cmd << "\n" << r.output;
  }
}
