// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "diorace/fd.hpp"
#include "diorace/kconfig.hpp"
#include "diorace/vm.hpp"

using namespace diorace;
namespace fs = std::filesystem;

TEST(Modules, DependsFieldIsParsedFromModinfo) {
  std::string elf("\x7f" "ELF....", 8);
  elf += std::string("license=GPL\0", 12) + std::string("depends=virtio,virtio-ring\0", 27) +
         std::string("name=virtio_blk\0", 16);
  auto deps = module_depends(elf);
  ASSERT_EQ(deps.size(), 2u);
  EXPECT_EQ(deps[0], "virtio");
  EXPECT_EQ(deps[1], "virtio_ring");
  EXPECT_TRUE(module_depends(std::string("depends=\0", 9)).empty());
}

TEST(Modules, IndexFindsCompressedModules) {
  std::string dir = "/var/tmp/diorace-mod-test";
  fs::remove_all(dir);
  fs::create_directories(dir + "/kernel/drivers/block");
  write_file(dir + "/kernel/drivers/block/virtio_blk.ko.xz", "x");
  write_file(dir + "/kernel/drivers/block/dm-mod.ko", "x");
  write_file(dir + "/kernel/drivers/block/README", "x");
  auto idx = index_modules(dir);
  ASSERT_EQ(idx.size(), 2u);
  std::set<std::string> names{idx[0].name, idx[1].name};
  EXPECT_TRUE(names.count("virtio_blk"));
  EXPECT_TRUE(names.count("dm_mod"));
  fs::remove_all(dir);
}

TEST(KernelConfig, ParsesValuesAndUnsetSymbols) {
  auto c = KernelConfig::parse("CONFIG_KCSAN=y\n# CONFIG_PROVE_LOCKING is not set\nCONFIG_LOCALVERSION=\"-x\"\n", "t");
  EXPECT_TRUE(c.enabled("CONFIG_KCSAN"));
  EXPECT_FALSE(c.enabled("CONFIG_PROVE_LOCKING"));
  EXPECT_EQ(c.value("CONFIG_PROVE_LOCKING"), "n");
  EXPECT_EQ(c.value("CONFIG_LOCALVERSION"), "\"-x\"");
  EXPECT_EQ(c.value("CONFIG_MISSING"), "");
  EXPECT_EQ(c.digest().size(), 16u);
}

TEST(ConsoleLogs, OnlyTheNewestAreKept) {
  struct Dir {
    std::string path = "/var/tmp/diorace-console-test-" + std::to_string(::getpid());
    Dir() { fs::create_directories(path); }
    ~Dir() { fs::remove_all(path); }
  } d;
  for (int i = 0; i < 5; ++i) {
    std::string p = d.path + "/diorace-console-" + std::to_string(1000 + i) + "-1.log";
    write_file(p, "x");
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(10 - i));
  }
  write_file(d.path + "/other.log", "x");                    // not ours
  write_file(d.path + "/diorace-console-notes.txt", "x");    // not a log
  EXPECT_EQ(prune_console_logs(d.path, 2), 3u);
  EXPECT_TRUE(fs::exists(d.path + "/diorace-console-1004-1.log"));
  EXPECT_TRUE(fs::exists(d.path + "/diorace-console-1003-1.log"));
  EXPECT_FALSE(fs::exists(d.path + "/diorace-console-1000-1.log"));
  EXPECT_TRUE(fs::exists(d.path + "/other.log"));
  EXPECT_TRUE(fs::exists(d.path + "/diorace-console-notes.txt"));
  EXPECT_EQ(prune_console_logs(d.path, 2), 0u);
}
