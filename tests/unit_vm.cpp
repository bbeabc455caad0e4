#include <gtest/gtest.h>

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
