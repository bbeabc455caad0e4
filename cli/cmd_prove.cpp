// SPDX-License-Identifier: GPL-2.0-or-later
// diorace prove: boots each case's declared controls (the kernels it must
// FAIL on and PASS on), runs the case there, checks the expectation, stores
// every run, and prints the proof table (Markdown), optionally to a file.
//
// Each boot is one `diorace vm` process of this same program (so that boots
// can run side by side with --jobs and each has its own disks, console log
// and stored run); the guest runs every variant of the case at once, for the
// longest duration among the controls of that kernel (a FAIL stops early).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "options.hpp"
#include "vm_children.hpp"
#include "diorace/cli_values.hpp"
#include "diorace/distro.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/outcome.hpp"
#include "diorace/outfile.hpp"
#include "diorace/process.hpp"
#include "diorace/registry.hpp"
#include "diorace/report.hpp"
#include "diorace/runner.hpp"
#include "diorace/store.hpp"
#include "diorace/tempdir.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace diorace {

namespace {

// Where the "debug:NAME" kernels are: --kernels-dir, $DIORACE_KERNELS_DIR, or
// shared/kernels beside the source tree or the working directory.
std::string resolve_debug_kernel(const std::string& name, const std::string& dir_option) {
  std::vector<std::string> dirs;
  if (!dir_option.empty()) dirs.push_back(dir_option);
  if (const char* e = std::getenv("DIORACE_KERNELS_DIR"); e && *e) dirs.push_back(e);
#ifdef DIORACE_SOURCE_DIR
  dirs.push_back(std::string(DIORACE_SOURCE_DIR) + "/../shared/kernels");
#endif
  dirs.push_back("../shared/kernels");
  dirs.push_back("shared/kernels");
  for (const auto& d : dirs) {
    std::error_code ec;
    const fs::path image = fs::path(d) / name / "bzImage";
    if (fs::is_regular_file(image, ec)) return fs::canonical(image, ec).string();
  }
  return "";
}

struct Job {
  const CaseInfo* info;
  std::string kernel;            // as declared (a package, "debian:SERIES-FLAVOUR", "debug:NAME", an image)
  std::string package, version;  // a series: the package it resolved to, and its version
  std::vector<std::string> vm_kernel_args;  // --deb P | --kernel IMAGE
  double duration_s = 0;
  int boot = 0;
  VmChild vm;                    // the `diorace vm` process, its output and run record
  int retries = 0;               // boots that never reached the test, made again
  std::string missing;           // why it could not run (kernel not found)
  bool pass_only = false;        // every control of the case on this kernel expects PASS
  std::string clean;             // pass_only: its duration and the confidence it gives
};

struct Row {
  std::string case_key, kernel, why;
  Verdict expect = Verdict::pass;
  FailKind kind = FailKind::none;
  bool own_race = false;
  int boots = 0, met = 0, detected = 0, retried = 0;
  std::vector<double> ttd;   // time to detection from case start, s
  std::vector<double> wall;  // boot wall, s
  std::map<std::string, int> got;  // "FAIL wrong_result" -> boots
  std::string note;
  std::string resolved;        // a series: "linux-image-... (6.1.192-3)"
  std::string fix;             // what the package's changelog says of the case's fix
  std::string disagree;        // a verdict that disagrees with it
  std::string news;            // a series control not met: what it means
  std::string clean;           // a PASS control's duration and the confidence it gives
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - (q > 0 ? 1 : 0);
  return v[std::min(i, v.size() - 1)];
}

std::string got_text(const CaseResult& c) {
  std::string o(to_string(c.verdict));
  return c.kind == FailKind::none ? o : o + " " + std::string(to_string(c.kind));
}

void start(Job& j, const std::vector<std::string>& common) {
  j.vm.args = j.vm_kernel_args;
  j.vm.args.insert(j.vm.args.end(), common.begin(), common.end());
  j.vm.args.insert(j.vm.args.end(), {"--", "run", j.info->name, "--duration", fmt::format("{}", j.duration_s)});
  start_vm_child(j.vm);
}

std::string markdown(const std::vector<Row>& rows, const std::string& command, const std::string& date,
                     double wall_s, int jobs) {
  std::ostringstream os;
  os << "Proof table: `" << command << "` (" << date << ", " << jobs << " VM" << (jobs > 1 ? "s" : "")
     << " at a time, " << fmt::format("{:.0f}", wall_s) << " s in all)\n\n";
  os << "| case | kernel | expected | got (boots) | boots meeting it | time to detection from case start, s "
        "(median / p90 / max) | clean run: s per variant (P(detect) were the bug there) | the package's changelog "
        "| boot wall, s (median) |\n";
  os << "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    std::string got;
    for (const auto& [g, n] : r.got) got += (got.empty() ? "" : ", ") + g + (n > 1 ? fmt::format(" ×{}", n) : "");
    std::string expect = std::string(to_string(r.expect));
    if (r.expect == Verdict::fail && r.kind != FailKind::none) expect += " " + std::string(to_string(r.kind));
    if (r.own_race) expect += " (own race)";
    std::string ttd = r.ttd.empty() ? "-"
                                    : fmt::format("{:.2f} / {:.2f} / {:.2f}", percentile(r.ttd, 0.5),
                                                  percentile(r.ttd, 0.9), percentile(r.ttd, 1.0));
    const char* bold = r.met == r.boots ? "**" : "";
    if (r.retried) got += fmt::format(" ({} boot{} retried: never reached the test)", r.retried, r.retried > 1 ? "s" : "");
    if (!r.news.empty()) got += " — **" + r.news + "**";
    std::string fix = r.fix.empty() ? "-" : r.fix;
    if (!r.disagree.empty()) fix += " — **disagrees: " + r.disagree + "**";
    const std::string kernel = r.resolved.empty() ? r.kernel : r.kernel + " → " + r.resolved;
    os << fmt::format("| `{}` | {} | {} | {} | {}{}/{}{} | {} | {} | {} | {:.1f} |\n", r.case_key, kernel, expect,
                      got.empty() ? "-" : got, bold, r.met, r.boots, bold, ttd, r.clean.empty() ? "-" : r.clean, fix,
                      percentile(r.wall, 0.5));
  }
  return os.str();
}

// Runs the boots, jobs_at_once at a time (a boot that never reached the
// test is booted again, up to `retries` times); a line per boot as it ends.
// Returns the wall time.
double run_boots(std::vector<Job>& all, const std::function<bool(const Job&)>& which, uint64_t jobs_at_once,
                 uint64_t retries, const std::vector<std::string>& common) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Job*> jobs;
  for (auto& j : all)
    if (which(j)) jobs.push_back(&j);
  size_t next = 0, finished = 0;
  std::map<pid_t, VmChild*> running;
  while (finished < jobs.size()) {
    while (running.size() < jobs_at_once && next < jobs.size()) {
      Job& j = *jobs[next++];
      if (!j.missing.empty()) {
        ++finished;
        std::fprintf(stderr, "diorace: prove %s on %s: %s\n", j.info->name.c_str(), j.kernel.c_str(), j.missing.c_str());
        continue;
      }
      start(j, common);
      running[j.vm.child.pid()] = &j.vm;
    }
    VmChild* ended = reap_vm_child(running);
    if (!ended) continue;
    Job& j = **std::find_if(jobs.begin(), jobs.end(), [&](const Job* x) { return &x->vm == ended; });
    ++finished;
    if (j.vm.exit_code == kExitNoBoot && j.retries < static_cast<int>(retries)) {
      ++j.retries;
      std::fprintf(stderr, "diorace: prove %s on %s, boot %d: the guest never reached the test; booting again (%d of %llu)\n",
                   j.info->name.c_str(), j.kernel.c_str(), j.boot + 1, j.retries,
                   static_cast<unsigned long long>(retries));
      start(j, common);
      running[j.vm.child.pid()] = &j.vm;
      --finished;
      continue;
    }
    std::string summary;
    if (j.vm.doc)
      for (const auto& c : j.vm.doc->cases) {
        summary += (summary.empty() ? "" : ", ") + case_key(c) + " " + got_text(c);
        if (c.first_failure_s) summary += fmt::format(" after {:.2f} s", *c.first_failure_s + c.setup_s);
      }
    std::fprintf(stderr, "diorace: prove [%zu/%zu] %s on %s, boot %d: %s (exit %d, %.0f s)\n", finished, jobs.size(),
                 j.info->name.c_str(), j.kernel.c_str(), j.boot + 1, summary.empty() ? "no result" : summary.c_str(),
                 j.vm.exit_code, j.vm.doc && j.vm.doc->vm ? j.vm.doc->vm->wall_s : 0.0);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The table: one row per case (variant) and control, from the boots' records.
std::vector<Row> tabulate(const std::vector<const CaseInfo*>& cases, const std::vector<Job>& jobs,
                          const std::function<bool(const Control&)>& selected, bool& all_met, bool& harness_error) {
  std::vector<Row> rows;
  for (const auto* c : cases) {
    for (const auto& ctl : c->controls) {
      if (!selected(ctl)) continue;
      std::vector<std::string> keys;
      const auto& vs = ctl.variants.empty() ? c->variants : ctl.variants;
      if (vs.empty()) keys.push_back(c->name);
      for (const auto& v : vs) keys.push_back(c->name + "[" + v + "]");
      for (const auto& key : keys) {
        Row r{key, ctl.kernel, ctl.why, ctl.expect, ctl.kind, ctl.own_race};
        for (const auto& j : jobs) {
          if (j.info != c || j.kernel != ctl.kernel) continue;
          ++r.boots;
          if (!j.package.empty()) r.resolved = j.package + " (" + j.version + ")";
          if (ctl.expect == Verdict::pass) r.clean = j.clean;
          r.retried += j.retries;
          if (!j.missing.empty()) {
            r.got["not booted"]++;
            harness_error = true;
            continue;
          }
          const CaseResult* res = nullptr;
          if (j.vm.doc)
            for (const auto& x : j.vm.doc->cases)
              if (case_key(x) == key) res = &x;
          if (j.vm.doc && j.vm.doc->vm) r.wall.push_back(j.vm.doc->vm->wall_s);
          if (!res) {
            r.got[fmt::format("no result (vm exit {})", j.vm.exit_code)]++;
            harness_error = true;
            continue;
          }
          r.got[got_text(*res)]++;
          if (meets_control(ctl, *res)) ++r.met;
          if (!res->kernel_fix.empty()) r.fix = res->kernel_fix;
          if (auto d = fix_disagreement(*res); !d.empty()) r.disagree = d;
          if (res->verdict == Verdict::fail) {
            ++r.detected;
            if (res->first_failure_s) r.ttd.push_back(*res->first_failure_s + res->setup_s);
          }
        }
        all_met = all_met && r.met == r.boots;
        // A series control not met is news about the newest package.
        if (parse_kernel_series(ctl.kernel) && r.met < r.boots && r.boots > 0) {
          const bool passed = r.got.count("PASS") > 0, failed = std::any_of(r.got.begin(), r.got.end(), [](const auto& g) {
            return g.first.rfind("FAIL", 0) == 0;
          });
          if (ctl.expect == Verdict::fail && passed && !failed)
            r.news = "no longer shows the bug: fixed in this package?";
          else if (ctl.expect == Verdict::pass && failed)
            r.news = "shows the bug on a series where it is declared fixed: a regression?";
        }
        rows.push_back(std::move(r));
      }
    }
  }
  return rows;
}

// The `diorace vm` options every boot of the proof shares.
std::vector<std::string> common_vm_args(const po::variables_map& vm) {
  std::vector<std::string> common;
  if (vm.count("store")) common.insert(common.end(), {"--store", vm["store"].as<std::string>()});
  for (const char* o : {"accel", "disk-bus", "guest-device"})
    if (vm.count(o)) common.insert(common.end(), {std::string("--") + o, vm[o].as<std::string>()});
  if (vm.count("throttle-bps"))
    common.insert(common.end(), {"--throttle-bps", std::to_string(vm["throttle-bps"].as<Count>().value)});
  if (vm.count("timeout")) common.insert(common.end(), {"--timeout", fmt::format("{}", vm["timeout"].as<Real>().value)});
  return common;
}

using ControlFilter = std::function<bool(const Control&)>;

// One job of a case on one kernel: how vm boots it (a debug: kernel from
// the kernels directory, a Debian package, an image).
Job make_job(const CaseInfo* c, const std::string& k, double duration, uint64_t boot, const std::string& kernels_dir) {
  Job j{c, k, {}, {}, {}, duration, static_cast<int>(boot)};
  if (k.starts_with("debug:")) {
    std::string image = resolve_debug_kernel(k.substr(6), kernels_dir);
    if (image.empty()) j.missing = k.substr(6) + "/bzImage not found (--kernels-dir, $DIORACE_KERNELS_DIR or shared/kernels)";
    j.vm_kernel_args = {"--kernel", image};
  } else if (auto series = parse_kernel_series(k)) {
    try {
      const ResolvedKernel r = resolve_kernel_series(*series);
      j.package = r.package;
      j.version = r.version;
      j.vm_kernel_args = {"--deb", r.package};
    } catch (const SetupError& e) {
      j.missing = e.what();
    }
  } else if (k.starts_with("linux-image-")) {
    j.vm_kernel_args = {"--deb", k};
  } else {
    j.vm_kernel_args = {"--kernel", k};
  }
  return j;
}

// One boot per case, kernel and repetition, for the longest duration among
// the case's controls on that kernel (or --duration).
std::vector<Job> plan_jobs(const std::vector<const CaseInfo*>& cases, const ControlFilter& selected, uint64_t boots,
                           std::optional<double> duration, const std::string& kernels_dir, const std::string& work) {
  std::vector<Job> jobs;
  for (const auto* c : cases) {
    std::vector<std::string> kernels;
    for (const auto& ctl : c->controls)
      if (selected(ctl) && std::find(kernels.begin(), kernels.end(), ctl.kernel) == kernels.end())
        kernels.push_back(ctl.kernel);
    for (const auto& k : kernels) {
      double d = 0;
      bool pass_only = true;
      for (const auto& ctl : c->controls)
        if (ctl.kernel == k && selected(ctl)) {
          d = std::max(d, ctl.duration_s);
          pass_only = pass_only && ctl.expect == Verdict::pass;
        }
      for (uint64_t b = 0; b < boots; ++b) {
        Job j = make_job(c, k, duration.value_or(d), b, kernels_dir);
        j.pass_only = pass_only;
        const std::string base = fmt::format("{}/{}-{}-{}", work, c->name, jobs.size(), b);
        j.vm.json = base + ".json";
        j.vm.log = base + ".log";
        jobs.push_back(std::move(j));
      }
    }
  }
  return jobs;
}

void print_controls(const std::vector<const CaseInfo*>& cases, const ControlFilter& selected) {
  for (const auto* c : cases)
    for (const auto& ctl : c->controls)
      if (selected(ctl)) {
        std::string kernel = ctl.kernel;
        if (auto s = parse_kernel_series(ctl.kernel)) {
          try {
            const ResolvedKernel r = resolve_kernel_series(*s);
            kernel += " -> " + r.package + " (" + r.version + ")";
          } catch (const SetupError& e) {
            kernel += std::string(" -> ") + e.what();
          }
        }
        std::cout << fmt::format("{:<18} {:<44} {:<5} {:<12} {}{}\n", c->name, kernel, to_string(ctl.expect),
                                 to_string(ctl.kind),
                                 ctl.variants.empty() ? "" : "[" + fmt::format("{}", fmt::join(ctl.variants, ",")) + "] ",
                                 ctl.why);
      }
}

// The boot logs of a proof that went wrong, kept for the reader.
void keep_boot_logs(const std::vector<Job>& jobs) {
  std::string keep = fmt::format("/var/tmp/diorace-prove-logs-{}", ::getpid());
  std::error_code ec;
  fs::create_directories(keep, ec);
  for (const auto& j : jobs)
    if (!j.vm.log.empty()) fs::copy_file(j.vm.log, keep + "/" + fs::path(j.vm.log).filename().string(), ec);
  std::fprintf(stderr, "diorace: prove: not every control was met; boot logs kept in %s\n", keep.c_str());
}

// How long a clean run lasts: long enough that the bug, had it been there
// at the rate the FAIL controls measured (time to detection taken as
// exponential with their mean), would have shown with probability `target`;
// never longer than declared, never shorter than a floor (a detection that
// is deterministic still needs its first iterations and a margin).
constexpr double kCleanFloorS = 5;
struct Clean {
  double seconds;
  std::string text;
};
Clean clean_duration(double declared, const std::vector<double>& ttd, double target) {
  if (ttd.empty()) return {declared, fmt::format("{:.0f} (declared: no detection measured)", declared)};
  double mean = 0;
  for (double t : ttd) mean += t;
  mean = std::max(mean / static_cast<double>(ttd.size()), 0.01);
  const double need = -std::log1p(-target) * mean;
  const double d = std::min(declared, std::max(need, kCleanFloorS));
  return {d, fmt::format("{:.1f} (P(miss) {:.1e}: mean detection {:.2f} s over {} FAIL{}{})", d, std::exp(-d / mean),
                         mean, ttd.size(), ttd.size() > 1 ? "s" : "", d < need ? ", capped at the declared" : "")};
}

// The FAIL controls' times to detection of each case: from the store (this
// proof's boots are in it), or from this proof's boots alone: without a
// store, and when several VMs share the host (the PASS controls then run at
// that load, and so must the detections they are measured against).
std::map<const CaseInfo*, std::vector<double>> detection_times(const std::vector<Job>& jobs, const std::string& uri,
                                                               bool this_proof_only) {
  std::map<const CaseInfo*, std::vector<double>> out;
  std::unique_ptr<Store> store;
  if (uri != "none" && !this_proof_only) store = Store::open(uri, true);
  for (const auto& j : jobs) {
    if (out.count(j.info)) continue;
    auto& v = out[j.info];
    if (store) {
      v = store->detection_times(j.info->name);
      continue;
    }
    for (const auto& k : jobs)
      if (k.info == j.info && !k.pass_only && k.vm.doc)
        for (const auto& c : k.vm.doc->cases)
          if (c.verdict == Verdict::fail && c.kind != FailKind::crash && c.first_failure_s)
            v.push_back(*c.first_failure_s + c.setup_s);
  }
  return out;
}

// The boots: the FAIL controls first, whose times to detection set how long
// the PASS controls then run (unless --duration or --declared-durations).
// Returns the wall time.
double run_phases(std::vector<Job>& jobs, const po::variables_map& vm, const std::string& uri,
                  const std::optional<double>& duration, double target, const std::vector<std::string>& common) {
  const uint64_t jobs_at_once = vm["jobs"].as<Count>().value;
  const uint64_t retries = std::min<uint64_t>(vm["retries"].as<Count>().value, 10);
  const bool adaptive = !duration && !vm.count("declared-durations");
  double wall = run_boots(jobs, [&](const Job& j) { return !adaptive || !j.pass_only; }, jobs_at_once, retries, common);
  if (!adaptive) {
    for (auto& j : jobs)
      if (j.pass_only) j.clean = fmt::format("{:.0f} ({})", j.duration_s, duration ? "--duration" : "declared");
    return wall;
  }
  const auto ttd = detection_times(jobs, uri, jobs_at_once > 1);
  for (auto& j : jobs)
    if (j.pass_only) {
      const Clean c = clean_duration(j.duration_s, ttd.at(j.info), target);
      j.duration_s = c.seconds;
      j.clean = c.text;
    }
  return wall + run_boots(jobs, [](const Job& j) { return j.pass_only; }, jobs_at_once, retries, common);
}

// A series control not met, and a verdict against the package's changelog:
// each on a line of its own after the table.
void print_news(const std::vector<Row>& rows) {
  for (const auto& r : rows) {
    if (!r.news.empty()) std::cout << fmt::format("{} on {} ({}): {}\n", r.case_key, r.kernel, r.resolved, r.news);
    if (!r.disagree.empty())
      std::cout << fmt::format("{} on {}: the verdict disagrees with the package: {}\n", r.case_key,
                               r.resolved.empty() ? r.kernel : r.resolved, r.disagree);
  }
}

void prove_options(CommandOptions& o) {
  o.shown.add_options()
      ("boots", po::value<Count>()->default_value(Count{1}), "boots per case and kernel")
      ("jobs", po::value<Count>()->default_value(Count{1}), "VMs at once (each 2 vCPUs under TCG)")
      ("duration", po::value<Real>(), "seconds each case runs (default: the control's own)")
      ("markdown", po::value<std::string>(), "also write the proof table here (Markdown)")
      ("kernels-dir", po::value<std::string>(), "where the debug: kernels are (default: shared/kernels)")
      ("accel", po::value<std::string>(), "vm --accel")
      ("disk-bus", po::value<std::string>(), "vm --disk-bus: the scratch disk's controller (virtio|nvme|scsi|sata)")
      ("guest-device", po::value<std::string>(), "vm --guest-device: the cases on the raw disk (disk|partition)")
      ("throttle-bps", po::value<Count>(), "vm --throttle-bps (0: off; default: the cases' device profile)")
      ("timeout", po::value<Real>(), "vm --timeout: seconds before a guest is declared hung")
      ("kernel", po::value<std::vector<std::string>>()->composing(), "only the controls on this kernel (repeatable)")
      ("retries", po::value<Count>()->default_value(Count{2}),
       "boot again when a guest never reached the test (vm exit 3: an infrastructure failure, not a result)")
      ("latest", "the series controls (debian:6.1-cloud-amd64, ...): each on the newest package of its series")
      ("confidence", po::value<Real>()->default_value(Real{0.999}),
       "a PASS control runs until the bug, at its measured detection rate, would have shown with this probability")
      ("declared-durations", "PASS controls run for their declared durations")
      ("list", "print the controls and boot nothing");
  o.shown.add(store_option());
  o.words.add_options()("case", po::value<std::vector<std::string>>(), "cases");
  o.pos.add("case", -1);
}

}  // namespace

int cmd_prove(const std::vector<std::string>& args, const std::string& command) {
  auto vm = parse_command(kProveCommand, args);
  const uint64_t boots = vm["boots"].as<Count>().value, jobs_at_once = vm["jobs"].as<Count>().value;
  if (boots < 1 || boots > 1000) throw UsageError("--boots must be 1..1000");
  std::optional<double> duration;
  if (vm.count("duration")) {
    duration = vm["duration"].as<Real>().value;
    if (!(*duration > 0) || *duration > 86400) throw UsageError("--duration must be in (0, 86400]");
  }
  const std::string markdown_path = opt(vm, "markdown");
  if (!markdown_path.empty()) check_output_path(markdown_path, "--markdown");
  auto cases = select_cases(vm.count("case") ? vm["case"].as<std::vector<std::string>>() : std::vector<std::string>{});
  for (const auto* c : cases)
    if (c->controls.empty()) throw UsageError("case " + c->name + " declares no proof controls");
  check_vm_jobs(jobs_at_once, VmOptions{}.cpus);  // prove's VMs have the default vCPUs

  // The store is made (schema applied) once here, before the boots that
  // write to it side by side; "none" keeps none.
  const std::string uri = vm.count("store") ? vm["store"].as<std::string>() : Store::default_uri();
  if (uri != "none" && !vm.count("list")) (void)Store::open(uri);
  const std::vector<std::string> common = common_vm_args(vm);
  std::vector<std::string> only;
  if (vm.count("kernel")) only = vm["kernel"].as<std::vector<std::string>>();
  // Plain proofs are the pinned (historical) controls; --latest the series.
  const bool latest = vm.count("latest") > 0;
  const ControlFilter selected = [&](const Control& ctl) {
    if (parse_kernel_series(ctl.kernel).has_value() != latest) return false;
    return only.empty() || std::find(only.begin(), only.end(), ctl.kernel) != only.end();
  };
  const double target = vm["confidence"].as<Real>().value;
  if (!(target > 0 && target < 1)) throw UsageError("--confidence must be between 0 and 1 (e.g. 0.999)");
  auto work = vm_children_dir("diorace-prove-");
  std::vector<Job> jobs = plan_jobs(cases, selected, boots, duration, opt(vm, "kernels-dir"), work.path());
  if (jobs.empty())
    throw UsageError(latest ? "no series control (debian:...) among the selected cases"
                            : "no control of the selected cases is on the kernels named by --kernel");
  if (vm.count("list")) {
    print_controls(cases, selected);
    return 0;
  }

  // A stop request (SIGINT, SIGTERM, SIGHUP) stops the boots still running
  // (each child `diorace vm` kills its qemu and removes its disks), starts
  // no more, and gives no table: a proof that did not run is no proof.
  stop_on_signals();
  const double wall = run_phases(jobs, vm, uri, duration, target, common);
  if (stop_requested()) {
    std::fprintf(stderr, "diorace: prove interrupted: the boots still running were stopped; no table\n");
    return kExitError;
  }
  bool all_met = true, harness_error = false;
  const std::vector<Row> rows = tabulate(cases, jobs, selected, all_met, harness_error);
  const std::string table = markdown(rows, command, utc_timestamp().substr(0, 10), wall, static_cast<int>(jobs_at_once));
  std::cout << table;
  std::cout << fmt::format("\n{} of {} controls met in every boot; {:.0f} s\n",
                           std::count_if(rows.begin(), rows.end(), [](const Row& r) { return r.met == r.boots; }),
                           rows.size(), wall);
  print_news(rows);
  if (!markdown_path.empty()) write_output_file(markdown_path, table);
  if (!all_met) keep_boot_logs(jobs);
  if (!all_met) return harness_error ? kExitError : kExitFailed;
  return kExitClean;
}

extern const Command kProveCommand{"prove", "[CASE...] [--latest] [--boots N] [--jobs N] [--kernel K]... [--markdown FILE]",
                                   "boot each case's declared controls and check them", cmd_prove, prove_options};

}  // namespace diorace
