// SPDX-License-Identifier: GPL-2.0-or-later
// The config file, in the spirit of xfstests' local.config: where to run.
//
//   # global keys
//   TEST_DIR = /mnt/test
//   FSTYPE = ext4
//   [nvme]                       # a section: its keys override the global ones
//   TEST_DEV = /dev/nvme1n1
//   SCRATCH_DEV = /dev/nvme2n1
//   MKFS_OPTIONS = -b 4096
//   FORCE_DEVICE = /dev/nvme2n1
//   KERNELS = linux-image-6.1.0-50-cloud-amd64-unsigned linux-image-6.12.107+deb12-amd64-unsigned
//
// Precedence: the command line, then the environment (DIORACE_TEST_DIR,
// DIORACE_TEST_DEV, DIORACE_SCRATCH_DEV, DIORACE_FSTYPE, DIORACE_MKFS_OPTIONS,
// DIORACE_FORCE_DEVICE), then the file's section, then its global keys. The
// file is --config FILE or $DIORACE_CONFIG; the section --section or
// $DIORACE_SECTION. Parsed with Boost.Program_options' config-file parser.
#pragma once
#include <string>
#include <vector>

namespace diorace {

struct TargetSettings {
  std::string test_dir, test_dev, scratch_dev, fstype, mkfs_options;
  std::vector<std::string> force_device, kernels;
  std::string source;  // the file read, or ""
};

// Throws UsageError (one line) for an unreadable file, an unknown key or a
// section that does not exist.
TargetSettings target_settings(const std::string& config_path, const std::string& section);

}  // namespace diorace
