// SPDX-License-Identifier: GPL-2.0-or-later
// diorace lava-job: LAVA job definitions for a kernel and a set of cases
// (a qemu job that deploys the kernel and diorace's own initramfs, or a job
// for a lab's board with an installed diorace and its scratch disk), and
// for qemu the initramfs itself.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/distro.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/lava.hpp"
#include "diorace/outfile.hpp"
#include "diorace/vm.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

void lava_job_options(CommandOptions& o) {
  o.shown.add_options()
      ("device-type", po::value<std::string>()->default_value("qemu"), "the lab's device type: qemu, or a board type (then --scratch-device)")
      ("kernel-url", po::value<std::string>(), "qemu: where the lab fetches the kernel image")
      ("initramfs-url", po::value<std::string>(), "qemu: where the lab fetches the initramfs (--initramfs writes it)")
      ("initramfs", po::value<std::string>(), "qemu: write diorace's LAVA initramfs for --deb/--kernel here")
      ("deb", po::value<std::string>(), "with --initramfs: the kernel package whose modules go in")
      ("kernel", po::value<std::string>(), "with --initramfs: a kernel image (modules: --modules)")
      ("modules", po::value<std::string>(), "with --kernel: its modules directory")
      ("testdef-repo", po::value<std::string>(), "git URL of the test definition (this repository)")
      ("testdef-path", po::value<std::string>()->default_value("lava/diorace.yaml"), "its path in the repository")
      ("testdef-revision", po::value<std::string>(), "a revision of the repository")
      ("scratch-device", po::value<std::string>(), "a board: the disk the lab names for destructive tests (diorace run --device)")
      ("boots", po::value<Count>()->default_value(Count{1}), "job definitions to write (one boot each)")
      ("tags", po::value<std::vector<std::string>>()->composing(), "a device tag the job needs (repeatable)")
      ("job-timeout", po::value<Count>()->default_value(Count{60}), "minutes for the whole job")
      ("test-timeout", po::value<Count>()->default_value(Count{45}), "minutes for the test action")
      ("name", po::value<std::string>(), "the job name (default: diorace CASES)")
      ("out", po::value<std::string>(), "write the definitions into this directory (default: print one)");
}

}  // namespace

int cmd_lava_job(const std::vector<std::string>& args_in, const std::string&) {
  // Everything after "--" is the cases and their `run` options.
  auto [args, run] = split_at_dashes(args_in);
  auto vm = parse_command(kLavaJobCommand, args);
  LavaJobSpec s;
  s.device_type = vm["device-type"].as<std::string>();
  s.kernel_url = opt(vm, "kernel-url");
  s.initramfs_url = opt(vm, "initramfs-url");
  s.testdef_repo = opt(vm, "testdef-repo");
  s.testdef_path = vm["testdef-path"].as<std::string>();
  s.testdef_revision = opt(vm, "testdef-revision");
  s.scratch_device = opt(vm, "scratch-device");
  s.job_name = opt(vm, "name");
  if (vm.count("tags")) s.tags = vm["tags"].as<std::vector<std::string>>();
  s.job_timeout_min = static_cast<unsigned>(std::min<uint64_t>(vm["job-timeout"].as<Count>().value, 10080));
  s.test_timeout_min = static_cast<unsigned>(std::min<uint64_t>(vm["test-timeout"].as<Count>().value, 10080));
  for (const auto& a : run) (a.rfind("-", 0) == 0 || !s.run_args.empty() ? s.run_args : s.cases).push_back(a);
  const uint64_t boots = vm["boots"].as<Count>().value;
  if (boots < 1 || boots > 1000) throw UsageError("--boots must be 1..1000");
  // Refused before anything is written.
  (void)lava_job(s);
  if (vm.count("initramfs")) {
    const std::string out = vm["initramfs"].as<std::string>();
    check_output_path(out, "--initramfs");
    VmOptions o;
    if (vm.count("deb")) o.deb = resolve_kernel_name(vm["deb"].as<std::string>());
    if (vm.count("kernel")) o.kernel = vm["kernel"].as<std::string>();
    if (vm.count("modules")) o.modules = vm["modules"].as<std::string>();
    if (o.deb.empty() == o.kernel.empty()) throw UsageError("--initramfs needs --deb PACKAGE or --kernel IMAGE");
    const std::string image = build_lava_initramfs(o, out);
    std::fprintf(stderr, "diorace: LAVA initramfs written to %s (deploy it with the kernel %s)\n", out.c_str(),
                 image.c_str());
  }
  if (!vm.count("out")) {
    if (boots != 1) throw UsageError("--boots N writes N files: give --out DIR");
    std::cout << lava_job(s).dump(2) << "\n";
    return 0;
  }
  const std::string dir = vm["out"].as<std::string>();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) throw UsageError("--out " + dir + ": not a directory");
  for (uint64_t b = 0; b < boots; ++b) {
    LavaJobSpec one = s;
    one.job_name = fmt::format("{} boot {} of {}", s.job_name.empty() ? "diorace" : s.job_name, b + 1, boots);
    const std::string f = fmt::format("{}/job-{:03}.yaml", dir, b + 1);
    check_output_path(f, "--out");
    // JSON is YAML: LAVA reads it as it is.
    write_output_file(f, lava_job(one).dump(2) + "\n");
  }
  std::fprintf(stderr, "diorace: %llu LAVA job definition(s) written to %s (lavacli jobs submit FILE)\n",
               static_cast<unsigned long long>(boots), dir.c_str());
  return 0;
}

extern const Command kLavaJobCommand{"lava-job", "[OPTIONS] -- CASE...|all [RUN OPTIONS]",
                                     "LAVA job definitions (and a LAVA initramfs) for a kernel and cases",
                                     cmd_lava_job, lava_job_options};

}  // namespace diorace
