// SPDX-License-Identifier: GPL-2.0-or-later
// diorace describe CASE: one case in full.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "diorace/distro.hpp"
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

extern const Command kDescribeCommand;

namespace {

void describe_options(CommandOptions& o) {
  o.shown.add_options()("kernel", po::value<std::vector<std::string>>()->composing(),
                        "also say whether this kernel package (or series, debian:6.1-cloud-amd64) carries the fixing "
                        "commits, from its changelog (the package is downloaded once)");
  o.shown.add(store_option());
  o.words.add_options()("case", po::value<std::vector<std::string>>(), "the case");
  o.pos.add("case", -1);
}

// Per series the case declares: the newest package it failed on and the
// first it passed on, from the store's VM runs.
void print_series_history(const CaseInfo& c, const std::string& store_uri) {
  if (store_uri == "none") return;
  std::vector<std::pair<std::string, std::string>> outcomes;
  try {
    outcomes = open_store_for_reading(store_uri)->package_outcomes(c.name);
  } catch (const std::exception& e) {
    std::cout << "history:    no store to read (" << e.what() << ")\n";
    return;
  }
  for (const auto& h : series_history(c, outcomes))
    std::cout << fmt::format("history:    {}: newest FAIL {}; first PASS {}\n", h.series,
                             h.newest_fail.empty() ? "none stored" : h.newest_fail,
                             h.first_pass.empty() ? "none stored" : h.first_pass);
}

}  // namespace

int cmd_describe(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kDescribeCommand, args);
  const auto names = vm.count("case") ? vm["case"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (names.size() != 1) throw UsageError("describe takes exactly one case name");
  const CaseInfo* c = Registry::instance().find(names[0]);
  if (!c) throw UsageError("unknown case '" + names[0] + "' ('diorace list' shows the cases)");
  std::vector<std::string> kernels;
  if (vm.count("kernel")) kernels = vm["kernel"].as<std::vector<std::string>>();
  for (const auto& k : kernels)
    if (k.rfind("linux-image-", 0) != 0 && !parse_kernel_series(k))
      throw UsageError("describe --kernel: '" + k + "' is neither a Debian kernel package nor a series (debian:6.1-cloud-amd64)");
  std::cout << c->name << ": " << c->summary << "\n\n";
  std::cout << "races:      " << c->races << "\n";
  std::cout << "seed:       " << c->seed_thread << "\n";
  for (const auto& f : c->fixed_by)
    std::cout << "fixed by:   " << f.hash << " (\"" << f.subject << "\"" << (f.mainline.empty() ? "" : ", " + f.mainline)
              << ")\n";
  for (const auto& k : c->known_bad) std::cout << "known bad:  " << k << "\n";
  std::string needs, oracles, detectors;
  for (const auto& n : need_names(c->needs)) needs += n + " ";
  for (const auto& o : c->oracles.names()) oracles += o + " ";
  for (const auto& d : c->detectors) detectors += d + " ";
  std::cout << "needs:      " << (needs.empty() ? "-" : needs) << "\n";
  std::cout << "oracles:    " << oracles << "\n";
  std::cout << "detectors:  " << (detectors.empty() ? "none (its own oracles decide)" : detectors) << "\n";
  std::cout << fmt::format("deadline:   {:.0f} s per iteration (hang oracle)\n", c->iteration_timeout_s);
  std::cout << fmt::format("duration:   {:.0f} s by default\n", c->default_duration_s);
  for (const auto& sig : c->own_signatures) std::cout << "own race:   /" << sig << "/\n";
  for (const auto& p : c->probes) std::cout << "coverage:   kprobe " << p.symbol << " (" << p.meaning << ")\n";
  if (c->vm_device_bps) std::cout << fmt::format("device:     {} bytes/s in the VM unless --throttle-bps\n", c->vm_device_bps);
  if (!c->variants.empty()) {
    std::string v;
    for (const auto& x : c->variants) v += x + " ";
    std::cout << "variants:   " << v << "(each reported separately)\n";
  }
  std::cout << "parameters:\n";
  for (const auto& p : c->params) {
    std::string range;
    if (p.is_choice()) {
      for (const auto& ch : p.choices) range += (range.empty() ? "" : "|") + ch;
    } else {
      range = fmt::format("{}..{}", p.min, p.max);
    }
    std::cout << fmt::format("  {:<22} default {:<8} [{}]  {}\n", p.name, p.default_text(), range, p.help);
  }
  for (const auto& ctl : c->controls) {
    std::string what(to_string(ctl.expect));
    if (ctl.kind != FailKind::none) what += " " + std::string(to_string(ctl.kind));
    if (!ctl.variants.empty()) what += " [" + fmt::format("{}", fmt::join(ctl.variants, ",")) + "]";
    std::cout << fmt::format("control:    {} on {}: {}\n", what, ctl.kernel, ctl.why);
  }
  // What kernels carry: each package's own changelog.
  for (const auto& k : kernels) {
    const std::string pkg = resolve_kernel_name(k);
    const FixCheck f = check_fixes_in_package(fetch_debian_kernel(pkg).dir, pkg, c->fixed_by);
    std::cout << "changelog:  " << pkg << ": "
              << (f.text.empty() ? (c->fixed_by.empty() ? "no fixing commit declared" : "no changelog found") : f.text)
              << "\n";
  }
  print_series_history(*c, opt(vm, "store"));
  return 0;
}

extern const Command kDescribeCommand{
    "describe", "CASE [--kernel K]...", "one case: race, fixing commits, oracles, controls, parameters", cmd_describe,
    describe_options,
    "  the case's race, fixing commits, known-bad kernels, needs, oracles, detectors, proof controls and\n"
    "  parameters ('diorace list' names the cases); with --kernel, whether each package's changelog carries\n"
    "  the fixing commits; from the store, per series, the newest package it failed on and the first it passed on\n"};

}  // namespace diorace
