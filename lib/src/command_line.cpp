// SPDX-License-Identifier: GPL-2.0-or-later
// The command-line front end of the library: the machine options `vm`,
// `bisect` and `bisect-step` share (`run`'s options: run_args.cpp).
#include "diorace/command_line.hpp"

#include <sstream>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/params.hpp"

namespace diorace {

boost::program_options::options_description vm_machine_options() {
  namespace po = boost::program_options;
  po::options_description desc("machine options");
  desc.add_options()
      ("modules", po::value<std::string>(), "directory with the kernel's modules (lib/modules/VERSION or above)")
      ("kconfig", po::value<std::string>(), "the kernel's config (default: found beside the image)")
      ("cpus", po::value<Count>()->default_value(Count{2}), "guest CPUs")
      ("mem", po::value<Count>()->default_value(Count{2048}), "guest memory in MiB")
      ("accel", po::value<std::string>()->default_value("auto"), "auto|kvm|tcg")
      ("fs", po::value<std::string>()->default_value("ext4"), "scratch filesystem: ext4|xfs")
      ("disk-bus", po::value<std::string>()->default_value("virtio"),
       "the scratch disk's controller: virtio|nvme|scsi|sata (virtio-blk, NVMe, virtio-scsi, AHCI)")
      ("guest-device", po::value<std::string>(),
       "run the cases with --device on the scratch disk itself: disk (whole) or partition (one made by the runner)")
      ("disk-size", po::value<std::string>()->default_value("1G"), "scratch disk size")
      ("throttle-bps", po::value<Count>(), "throttle the scratch disk to N bytes/s (0: off; default: the cases' device profile)")
      ("timeout", po::value<Real>()->default_value(Real{900}), "seconds before the guest is declared hung")
      ("append", po::value<std::string>(), "extra kernel command-line arguments")
      ("artifact-retries", po::value<Count>()->default_value(Count{2}),
       "under TCG, boot again when a case's only evidence is a known emulator artifact (up to N times)");
  return desc;
}

void read_vm_machine_options(const boost::program_options::variables_map& vm, VmOptions& o) {
  if (vm.count("modules")) o.modules = vm["modules"].as<std::string>();
  if (vm.count("kconfig")) o.kconfig = vm["kconfig"].as<std::string>();
  o.cpus = static_cast<unsigned>(std::min<uint64_t>(vm["cpus"].as<Count>().value, 4096));
  o.mem_mib = static_cast<unsigned>(std::min<uint64_t>(vm["mem"].as<Count>().value, 1u << 30));
  o.accel = vm["accel"].as<std::string>();
  o.fs = vm["fs"].as<std::string>();
  o.disk_bus = vm["disk-bus"].as<std::string>();
  if (vm.count("guest-device")) o.guest_device = vm["guest-device"].as<std::string>();
  o.disk_size = parse_int_value("--disk-size", vm["disk-size"].as<std::string>());
  if (vm.count("throttle-bps")) o.throttle_bps = vm["throttle-bps"].as<Count>().value;
  o.timeout_s = vm["timeout"].as<Real>().value;
  if (vm.count("append")) o.append = vm["append"].as<std::string>();
  o.artifact_retries = static_cast<unsigned>(std::min<uint64_t>(vm["artifact-retries"].as<Count>().value, 10));
}

std::vector<std::string> vm_machine_args(const VmOptions& o) {
  std::vector<std::string> a;
  auto add = [&](const char* name, std::string value) { a.insert(a.end(), {name, std::move(value)}); };
  if (!o.modules.empty()) add("--modules", o.modules);
  if (!o.kconfig.empty()) add("--kconfig", o.kconfig);
  add("--cpus", std::to_string(o.cpus));
  add("--mem", std::to_string(o.mem_mib));
  add("--accel", o.accel);
  add("--fs", o.fs);
  add("--disk-bus", o.disk_bus);
  if (!o.guest_device.empty()) add("--guest-device", o.guest_device);
  add("--disk-size", std::to_string(o.disk_size));
  if (o.throttle_bps) add("--throttle-bps", std::to_string(*o.throttle_bps));
  add("--timeout", fmt::format("{}", o.timeout_s));
  if (!o.append.empty()) add("--append", o.append);
  add("--artifact-retries", std::to_string(o.artifact_retries));
  return a;
}

}  // namespace diorace
