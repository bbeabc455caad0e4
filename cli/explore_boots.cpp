// SPDX-License-Identifier: GPL-2.0-or-later
#include "explore_boots.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "diorace/evidence.hpp"
#include "diorace/fd.hpp"
#include "diorace/klog.hpp"
#include "diorace/process.hpp"
#include "diorace/verdict.hpp"
#include "vm_children.hpp"

namespace diorace {

namespace {

struct BootFindings {
  uint64_t programs = 0;
  std::map<std::string, double> first;  // signature -> seconds from its variant's first program
};

BootFindings findings_of(const VmChild& c) {
  BootFindings b;
  if (!c.doc) return b;
  for (const auto& r : c.doc->cases) {
    b.programs += r.iterations;
    for (const auto& ev : r.events) {
      std::string sig;
      double t = -1;
      if (const auto* fe = std::get_if<FindingEvent>(&ev)) {
        sig = fe->what.detail.value("signature", "");
        t = fe->what.detail.value("elapsed_s", -1.0);
      } else if (const auto* he = std::get_if<HangEvent>(&ev)) {
        sig = he->context.value("signature", "");
      } else if (const auto* ke = std::get_if<KernelReportEvent>(&ev)) {
        // As the explorer's own finding of it names it (its CPU and PID differ per boot).
        const std::string where = kernel_report_where(ke->what.title);
        sig = "kmsg|splat:" + ke->what.cls + "|" + (where.empty() ? ke->what.title : where) + "|" + r.variant;
      }
      if (sig.empty()) continue;
      auto it = b.first.find(sig);
      if (it == b.first.end() || (t >= 0 && (it->second < 0 || t < it->second))) b.first[sig] = t;
    }
  }
  return b;
}

std::string seconds(double t) { return t < 0 ? "?" : fmt::format("{:.1f}", t); }

}  // namespace

int run_explore_boots(const ExploreBootsOptions& o) {
  check_vm_jobs(o.jobs, o.cpus);
  auto dir = vm_children_dir("diorace-explore-boots-");
  std::vector<VmChild> children(o.boots);
  std::vector<VmChild*> all;
  for (uint64_t k = 0; k < o.boots; ++k) {
    VmChild& c = children[k];
    c.args = o.host_args;
    c.args.insert(c.args.end(), {"--", "explore"});
    c.args.insert(c.args.end(), o.explore_args.begin(), o.explore_args.end());
    c.args.insert(c.args.end(), {"--seed", std::to_string(o.seed + k)});
    c.json = fmt::format("{}/boot-{}.json", dir.path(), k + 1);
    c.log = fmt::format("{}/boot-{}.log", dir.path(), k + 1);
    all.push_back(&c);
  }
  std::printf("explore: %llu boots, %llu at once, seeds %llu..%llu\n", static_cast<unsigned long long>(o.boots),
              static_cast<unsigned long long>(o.jobs), static_cast<unsigned long long>(o.seed),
              static_cast<unsigned long long>(o.seed + o.boots - 1));
  std::fflush(stdout);
  std::map<std::string, std::vector<double>> by_sig;
  bool found = false, failed = false;
  run_vm_children(all, o.jobs, [&](VmChild& c) {
    const size_t k = static_cast<size_t>(&c - children.data());
    const BootFindings b = findings_of(c);
    found |= c.exit_code == kExitFailed || !b.first.empty();
    failed |= c.exit_code != kExitClean && c.exit_code != kExitFailed;
    std::string line = fmt::format("boot {} (seed {}): vm exit {}, {} programs", k + 1, o.seed + k, c.exit_code, b.programs);
    for (const auto& [sig, t] : b.first) {
      line += fmt::format("\n    {} at {} s", sig, seconds(t));
      by_sig[sig].push_back(t);
    }
    if (c.exit_code != kExitClean && c.exit_code != kExitFailed) line += "\n" + vm_child_output_tail(c);
    // What the boot printed: its findings' program files and how to replay them.
    std::string text;
    if (try_read_file(c.log, text))
      for (size_t p = text.find("finding: "); p != std::string::npos; p = text.find("finding: ", p + 1))
        line += "\n    " + text.substr(p, text.find('\n', p) - p);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  std::printf("\n| signature | boots | first finding, s (median / max) |\n|---|---|---|\n");
  for (auto& [sig, ts] : by_sig) {
    std::sort(ts.begin(), ts.end());
    // Boots without it count as "not within the boot": the median is over all boots.
    std::string median = ts.size() * 2 > o.boots ? seconds(ts[(o.boots - 1) / 2]) : "not in most boots";
    std::printf("| `%s` | %zu/%llu | %s / %s |\n", sig.c_str(), ts.size(), static_cast<unsigned long long>(o.boots),
                median.c_str(), seconds(ts.back()).c_str());
  }
  if (by_sig.empty()) std::printf("| (none) | 0/%llu | - |\n", static_cast<unsigned long long>(o.boots));
  if (stop_requested()) {
    std::fprintf(stderr, "diorace: interrupted: the boots still running were stopped\n");
    return kExitError;
  }
  return found ? kExitFailed : failed ? kExitError : kExitClean;
}

}  // namespace diorace
