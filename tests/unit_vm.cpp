// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include <boost/program_options.hpp>

#include "diorace/command_line.hpp"
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

// A command that runs `diorace vm` children (bisect --jobs) hands them its
// machine as arguments: read back, they give the same machine.
TEST(VmOptionsArgs, MachineArgumentsReadBackToTheSameMachine) {
  namespace po = boost::program_options;
  VmOptions o;
  o.modules = "/m";
  o.kconfig = "/k/config";
  o.cpus = 3;
  o.mem_mib = 3072;
  o.accel = "tcg";
  o.fs = "xfs";
  o.disk_bus = "nvme";
  o.guest_device = "partition";
  o.disk_size = 3LL << 29;
  o.throttle_bps = 0;
  o.timeout_s = 123.5;
  o.append = "quiet loglevel=3";
  for (const VmOptions& want : {o, VmOptions{}}) {
    po::variables_map vm;
    po::store(po::command_line_parser(vm_machine_args(want)).options(vm_machine_options()).run(), vm);
    po::notify(vm);
    VmOptions got;
    read_vm_machine_options(vm, got);
    EXPECT_EQ(got.modules, want.modules);
    EXPECT_EQ(got.kconfig, want.kconfig);
    EXPECT_EQ(got.cpus, want.cpus);
    EXPECT_EQ(got.mem_mib, want.mem_mib);
    EXPECT_EQ(got.accel, want.accel);
    EXPECT_EQ(got.fs, want.fs);
    EXPECT_EQ(got.disk_bus, want.disk_bus);
    EXPECT_EQ(got.guest_device, want.guest_device);
    EXPECT_EQ(got.disk_size, want.disk_size);
    EXPECT_EQ(got.throttle_bps, want.throttle_bps);
    EXPECT_EQ(got.timeout_s, want.timeout_s);
    EXPECT_EQ(got.append, want.append);
  }
}
