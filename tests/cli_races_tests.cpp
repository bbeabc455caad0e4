// SPDX-License-Identifier: GPL-2.0-or-later
// The cases of the four Direct-I/O bugs Debian 6.1 still has, on this
// machine's kernel (which has every fix): they run clean, their own oracles
// can fail (--inject-fault oracle doctors what they observe; drop corrupts
// their verified reads), and they SKIP with the reason where the kernel or
// filesystem lacks what they need.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "test_util.hpp"

using namespace diorace;
namespace fs = std::filesystem;

namespace {

using test::run_diorace;
using test::TempDir;

nlohmann::json first_case(const std::string& json) { return nlohmann::json::parse(read_file(json))["cases"][0]; }

const char* const kNewCases[] = {"ext4_inline_dio", "uring_iopoll_eof", "loop_dio_freeze", "uffd_dio_release"};

}  // namespace

TEST(Races, NewCasesPassHereAndLeaveNothing) {
  TempDir d;
  auto r = run_diorace({"run", "ext4_inline_dio", "uring_iopoll_eof", "loop_dio_freeze", "uffd_dio_release", "--dir",
                        d.path, "--duration", "3", "--json", d.path + "/r.json"});
  EXPECT_EQ(r.status, 0) << r.output;
  auto doc = nlohmann::json::parse(read_file(d.path + "/r.json"));
  ASSERT_EQ(doc["cases"].size(), 6u);  // uring_iopoll_eof: ext4, xfs, target
  for (const auto& c : doc["cases"]) {
    EXPECT_EQ(c["outcome"], "PASS") << c.dump();
    EXPECT_GT(c["iterations"].get<int>(), 0);
  }
  // Only the reusable fixture is left (uffd_dio_release's data file).
  for (const auto& e : d.entries())
    EXPECT_TRUE(e == "r.json" || e == "diorace-uffd_dio_release-data.dat") << "left behind: " << e;
  auto mounts = read_file("/proc/self/mountinfo");
  EXPECT_EQ(mounts.find(d.path), std::string::npos) << mounts;
}

// Each new oracle can fail, with its own kind and evidence.
TEST(Races, OwnOraclesCanFail) {
  TempDir d;
  struct Want {
    std::string name, kind;
    std::vector<std::string> extra;
  } kinds[] = {{"ext4_inline_dio", "wrong_result", {"--param", "attempts=5"}},
               {"uring_iopoll_eof", "wrong_result", {"--param", "variant=ext4"}},
               {"loop_dio_freeze", "not_blocked", {}},
               {"uffd_dio_release", "hang", {}}};
  for (const auto& [name, kind, extra] : kinds) {
    const std::string json = d.path + "/" + name + ".json";
    std::vector<std::string> args = {"run", name, "--dir", d.path, "--iterations", "2", "--inject-fault", "oracle",
                                     "--json", json};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_diorace(args);
    EXPECT_EQ(r.status, 1) << name << "\n" << r.output;
    auto c = first_case(json);
    EXPECT_EQ(c["outcome"], "FAIL") << name;
    EXPECT_EQ(c["kind"], kind) << name;
    EXPECT_EQ(c["events"][0]["type"], "finding") << name;
    EXPECT_TRUE(c["fault_injected"].get<bool>()) << name;
    EXPECT_NE(c["events"][0]["text"].get<std::string>().find("fault injected"), std::string::npos) << name;
  }
  // The hang oracle's evidence is the stuck child's stacks, and it recovers.
  auto u = first_case(d.path + "/uffd_dio_release.json");
  EXPECT_TRUE(u["events"][0]["detail"]["recovered"].get<bool>());
  EXPECT_FALSE(u["events"][0]["detail"]["processes"].empty());
}

// Verified reads: a dropped read is corruption in every new case.
TEST(Races, VerifiedReadsCatchADroppedRead) {
  TempDir d;
  for (const char* name : kNewCases) {
    const std::string json = d.path + "/" + std::string(name) + ".json";
    auto r = run_diorace({"run", name, "--dir", d.path, "--iterations", "2", "--inject-fault", "drop", "--json", json});
    EXPECT_EQ(r.status, 1) << name << "\n" << r.output;
    EXPECT_EQ(first_case(json)["kind"], "corruption") << name;
  }
}

// SKIP, with the reason, where the kernel or filesystem lacks a feature.
TEST(Races, SkipsWhereAFeatureIsMissing) {
  TempDir d;
  // An ext4 made without inline data (the user's mkfs options come last).
  auto inl = run_diorace({"run", "ext4_inline_dio", "--dir", d.path, "--iterations", "1", "--mkfs-options",
                          "-O ^inline_data"});
  EXPECT_EQ(inl.status, 4) << inl.output;
  EXPECT_NE(inl.output.find("SKIP  ext4_inline_dio"), std::string::npos) << inl.output;
  EXPECT_NE(inl.output.find("stores no inline data"), std::string::npos) << inl.output;
  // tmpfs has O_DIRECT but no polled reads.
  const std::string tm = d.path + "/tmpfs";
  fs::create_directory(tm);
  ASSERT_EQ(::mount("none", tm.c_str(), "tmpfs", 0, "size=64m"), 0);
  auto iop = run_diorace({"run", "uring_iopoll_eof", "--dir", tm, "--iterations", "1", "--param", "variant=target"});
  ::umount(tm.c_str());
  EXPECT_EQ(iop.status, 4) << iop.output;
  EXPECT_NE(iop.output.find("SKIP  uring_iopoll_eof[target]"), std::string::npos) << iop.output;
  EXPECT_TRUE(iop.output.find("IOPOLL") != std::string::npos || iop.output.find("O_DIRECT") != std::string::npos)
      << iop.output;
  // No userfaultfd for an unprivileged user when vm.unprivileged_userfaultfd is 0.
  std::string unpriv;
  ASSERT_TRUE(try_read_file("/proc/sys/vm/unprivileged_userfaultfd", unpriv));
  if (unpriv.rfind("0", 0) == 0) {
    ASSERT_EQ(::chmod(d.path.c_str(), 0777), 0);
    auto uf = run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", DIORACE_BIN, "run",
                           "uffd_dio_release", "--dir", d.path, "--iterations", "1", "--store", "none"},
                          std::chrono::seconds(120));
    EXPECT_EQ(uf.status, 4) << uf.output;
    EXPECT_NE(uf.output.find("userfaultfd unavailable"), std::string::npos) << uf.output;
  }
}
