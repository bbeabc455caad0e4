// SPDX-License-Identifier: GPL-2.0-or-later
// diorace fetch-kernel PACKAGE: a Debian kernel package, downloaded and unpacked into the cache.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"
#include "diorace/outfile.hpp"
#include "diorace/registry.hpp"
#include "diorace/runner.hpp"
#include "diorace/vm.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "store_access.hpp"

namespace po = boost::program_options;

namespace diorace {

int cmd_fetch_kernel(const std::vector<std::string>& args, const std::string&) {
  if (args.size() != 1)
    throw UsageError("usage: diorace fetch-kernel PACKAGE (e.g. linux-image-6.1.0-50-cloud-amd64-unsigned)");
  auto k = fetch_debian_kernel(args[0]);
  std::cout << "kernel:  " << k.image << "\nmodules: " << k.modules << "\nconfig:  " << k.config << "\n";
  return 0;
}

extern const Command kFetchKernelCommand{
    "fetch-kernel", "PACKAGE", "download and unpack a Debian kernel package into the cache", cmd_fetch_kernel, nullptr,
    "  downloads it (apt-get download) and unpacks it into the cache ($DIORACE_CACHE, default\n"
    "  ~/.cache/diorace), once\n"};

}  // namespace diorace
