// SPDX-License-Identifier: GPL-2.0-or-later
// The Debian package: built with cpack from this build, checked by lintian,
// unpacked into a scratch root (dpkg -x) and run from the installed files
// only (no build tree, no environment variables pointing into it).
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "test_util.hpp"

using namespace diorace;
namespace fs = std::filesystem;
using test::TempDir;

namespace {

// Builds the package into dir and unpacks it into dir/root; returns the .deb.
std::string build_and_unpack(const std::string& dir) {
  auto c = run_command({"cpack", "-G", "DEB", "-B", dir, "--config", DIORACE_BUILD_DIR "/CPackConfig.cmake"},
                       std::chrono::seconds(300));
  EXPECT_EQ(c.status, 0) << c.output;
  std::string deb;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".deb") deb = e.path().string();
  if (deb.empty()) return deb;
  auto x = run_command({"dpkg-deb", "-x", deb, dir + "/root"});
  EXPECT_EQ(x.status, 0) << x.output;
  return deb;
}

// The installed program with a clean environment: nothing of the build.
CommandResult installed(const std::string& root, std::vector<std::string> args, int timeout_s = 240) {
  std::vector<std::string> argv = {"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + root + "/home",
                                   "DIORACE_STORE=none", root + "/usr/bin/diorace"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(timeout_s));
}

}  // namespace

TEST(Install, PackageIsLintianCleanAndRunsFromItsFiles) {
  TempDir d;
  const std::string deb = build_and_unpack(d.path);
  ASSERT_FALSE(deb.empty());
  const std::string root = d.path + "/root";
  // lintian: no errors (E:) nor warnings (W:).
  auto l = run_command({"lintian", "--no-tag-display-limit", deb}, std::chrono::seconds(300));
  EXPECT_EQ(l.status, 0) << l.output;
  EXPECT_EQ(l.output.find("\nE: "), std::string::npos) << l.output;
  EXPECT_EQ(l.output.find("E: diorace"), std::string::npos) << l.output;
  EXPECT_EQ(l.output.find("W: diorace"), std::string::npos) << l.output;
  // The control file names its runtime libraries and what vm needs.
  auto info = run_command({"dpkg-deb", "-f", deb, "Depends", "Recommends"});
  EXPECT_NE(info.output.find("liburing"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("qemu-system-x86"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("busybox-static"), std::string::npos) << info.output;
  for (const char* f : {"/usr/bin/diorace", "/usr/libexec/diorace/diorace-static", "/usr/share/man/man1/diorace.1.gz",
                        "/usr/share/bash-completion/completions/diorace", "/usr/share/doc/diorace/README.md",
                        "/usr/share/doc/diorace/copyright", "/usr/share/diorace/schema/001_init.sql"})
    EXPECT_TRUE(fs::exists(root + f)) << f;
  auto v = installed(root, {"--version"});
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_NE(v.output.find("diorace 0.1.0 (git "), std::string::npos) << v.output;
  EXPECT_EQ(v.output.find("(git unknown)"), std::string::npos) << v.output;
  auto list = installed(root, {"list"});
  EXPECT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("dma_thread"), std::string::npos) << list.output;
  auto run = installed(root, {"run", "dma_thread", "--iterations", "5"});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("PASS  dma_thread: 5 iterations"), std::string::npos) << run.output;
  // The man page renders; the completion script is valid bash.
  auto man = run_command({"sh", "-c", "zcat \"$1\" | groff -man -Tutf8 -wall 2>&1 >/dev/null", "sh",
                          root + "/usr/share/man/man1/diorace.1.gz"});
  EXPECT_EQ(man.output, "") << man.output;
  auto comp = run_command({"bash", "-n", root + "/usr/share/bash-completion/completions/diorace"});
  EXPECT_EQ(comp.status, 0) << comp.output;
}

// One VM boot from the installed files: the program finds its static guest
// binary in libexec without DIORACE_STATIC_BIN.
TEST(VmInstall, TheInstalledPackageBootsAKernel) {
  TempDir d;
  ASSERT_FALSE(build_and_unpack(d.path).empty());
  const std::string root = d.path + "/root";
  const char* cache = std::getenv("DIORACE_CACHE");
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "/root";
  std::vector<std::string> argv = {"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                   "DIORACE_CACHE=" + (cache ? std::string(cache) : home + "/.cache/diorace"),
                                   root + "/usr/bin/diorace", "vm", "--deb", "linux-image-6.1.0-50-cloud-amd64-unsigned",
                                   "--store", "none", "--json", d.path + "/vm.json", "--", "run", "dma_thread",
                                   "--duration", "60"};
  auto r = run_command(argv, std::chrono::seconds(900));
  EXPECT_EQ(r.status, 1) << r.output;
  std::string text;
  ASSERT_TRUE(try_read_file(d.path + "/vm.json", text)) << r.output;
  auto doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["cases"][0]["kind"], "corruption") << r.output;
}
