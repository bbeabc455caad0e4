// SPDX-License-Identifier: GPL-2.0-or-later
// `run`'s command line: its options, and the store and report options.
#include "diorace/run_args.hpp"

#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

#include "diorace/config.hpp"
#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "diorace/params.hpp"

namespace diorace {

boost::program_options::options_description store_option() {
  namespace po = boost::program_options;
  po::options_description d("store");
  d.add_options()("store", po::value<std::string>(),
                  "result store: SQLite file or postgresql://... ('none': no store; default: results/diorace.sqlite)");
  return d;
}

boost::program_options::options_description report_target_options(bool with_store) {
  namespace po = boost::program_options;
  po::options_description d("results");
  if (with_store) d.add(store_option());
  d.add_options()
      ("junit", po::value<std::string>(), "write JUnit XML here")
      ("ktap", po::value<std::string>(), "write KTAP (TAP 13, as kselftest prints it) here")
      ("kcidb", po::value<std::string>(), "write KCIDB v5 JSON here")
      ("jsonl", po::value<std::string>(), "write JSON lines (one case per line) here")
      ("html", po::value<std::string>(), "write the HTML report here")
      ("origin", po::value<std::string>(), "KCIDB origin (default: diorace)");
  return d;
}

void read_report_targets(const boost::program_options::variables_map& vm, ReportTargets& t) {
  for (auto [key, field] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"store", &t.store}, {"junit", &t.junit}, {"ktap", &t.ktap}, {"kcidb", &t.kcidb},
           {"jsonl", &t.jsonl}, {"html", &t.html}, {"origin", &t.origin}})
    if (vm.count(key)) *field = vm[key].as<std::string>();
}

boost::program_options::options_description run_options_description() {
  namespace po = boost::program_options;
  po::options_description desc("run options");
  desc.add_options()
      ("dir", po::value<std::string>(), "target directory (default: a scratch directory under /var/tmp, removed after)")
      ("device", po::value<std::string>(), "block device for the cases' O_DIRECT fixtures (DESTROYS its data; see --force-device)")
      ("scratch-device", po::value<std::string>(), "block device the filesystem cases mkfs and mount (DESTROYS its data)")
      ("force-device", po::value<std::vector<std::string>>()->composing(), "confirm DEV may be overwritten although it looks used (repeatable)")
      ("read-only", "open --device read-only: read cases only, over fixtures an earlier run wrote")
      ("fstype", po::value<std::string>(), "filesystem the filesystem cases make (their 'fs' parameter)")
      ("mkfs-options", po::value<std::string>(), "extra mkfs options for the filesystem cases")
      ("config", po::value<std::string>(), "config file (TEST_DIR, TEST_DEV, SCRATCH_DEV, FSTYPE, MKFS_OPTIONS, FORCE_DEVICE; [sections])")
      ("section", po::value<std::string>(), "the config file section to use on top of its global keys")
      ("duration", po::value<Real>(), "seconds per case (default: the case's own, 10 s for most, when --iterations is not given)")
      ("iterations", po::value<Count>(), "iterations per case")
      ("seed", po::value<Count>(), "random seed (default: from the clock, printed in results)")
      ("param", po::value<std::vector<std::string>>()->composing(), "NAME=VALUE or CASE.NAME=VALUE (repeatable)")
      ("keep-going", "do not stop a case at its first failure; count the failure rate")
      ("json", po::value<std::string>(), "write the results as JSON to this file (rewritten after each case)")
      ("iteration-timeout", po::value<Real>(), "hang oracle: seconds an iteration may take (default: per case)")
      ("kconfig", po::value<std::string>(), "config of the kernel under test (default: /proc/config.gz or /boot)")
      ("kmsg-ignore", po::value<std::vector<std::string>>()->composing(), "regex of kernel log lines to ignore (repeatable)")
      ("quiet,q", "print only failures and no progress")
      ("strict-kmsg", "fail a case on any kernel report, also detector reports unrelated to its race")
      ("wait-lock", "wait for another run that holds the same --dir or device (default: refuse, naming its pid)")
      ("inject-fault", po::value<std::string>(), "TEST ONLY: corrupt completed reads (flip|drop[:RATE]) to prove the FAIL path");
  desc.add(report_target_options());
  return desc;
}

RunOptions parse_run_args(const std::vector<std::string>& args) {
  namespace po = boost::program_options;
  po::options_description all;
  all.add(run_options_description()).add_options()("case", po::value<std::vector<std::string>>(), "cases");
  po::positional_options_description pos;
  pos.add("case", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  reject_empty_values(vm, all, {"mkfs-options"});
  RunOptions o;
  if (vm.count("case")) o.cases = vm["case"].as<std::vector<std::string>>();
  // Targets: the command line, else the environment, else the config file.
  TargetSettings ts = target_settings(vm.count("config") ? vm["config"].as<std::string>() : "",
                                      vm.count("section") ? vm["section"].as<std::string>() : "");
  o.config_path = ts.source;  // the file read: --config or $DIORACE_CONFIG
  o.dir = ts.test_dir;
  o.device = ts.test_dev;
  o.scratch_device = ts.scratch_dev;
  o.fstype = ts.fstype;
  o.mkfs_options = ts.mkfs_options;
  o.force_device = ts.force_device;
  if (vm.count("dir")) o.dir = vm["dir"].as<std::string>();
  if (vm.count("device")) o.device = vm["device"].as<std::string>();
  if (vm.count("scratch-device")) o.scratch_device = vm["scratch-device"].as<std::string>();
  if (vm.count("fstype")) o.fstype = vm["fstype"].as<std::string>();
  if (vm.count("mkfs-options")) o.mkfs_options = vm["mkfs-options"].as<std::string>();
  if (vm.count("force-device"))
    for (const auto& f : vm["force-device"].as<std::vector<std::string>>()) o.force_device.push_back(f);
  if (vm.count("duration")) o.duration_s = vm["duration"].as<Real>().value;
  if (vm.count("iterations")) o.iterations = vm["iterations"].as<Count>().value;
  if (vm.count("seed")) o.seed = vm["seed"].as<Count>().value;
  if (vm.count("param"))
    for (const auto& p : vm["param"].as<std::vector<std::string>>()) o.params.push_back(split_param(p));
  if (vm.count("json")) o.json_path = vm["json"].as<std::string>();
  if (vm.count("iteration-timeout")) o.iteration_timeout_s = vm["iteration-timeout"].as<Real>().value;
  if (vm.count("kconfig")) o.kconfig_path = vm["kconfig"].as<std::string>();
  if (vm.count("kmsg-ignore")) o.kmsg_ignore = vm["kmsg-ignore"].as<std::vector<std::string>>();
  for (auto [name, flag] : {std::pair{"read-only", &o.read_only}, {"keep-going", &o.keep_going}, {"quiet", &o.quiet},
                            {"strict-kmsg", &o.strict_kmsg}, {"wait-lock", &o.wait_lock}})
    *flag = vm.count(name) > 0;
  read_report_targets(vm, o.reports);
  if (vm.count("inject-fault")) set_fault_config(parse_fault(vm["inject-fault"].as<std::string>()));
  return o;
}

}  // namespace diorace
