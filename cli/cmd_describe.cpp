// SPDX-License-Identifier: GPL-2.0-or-later
// diorace describe CASE: one case in full.
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

int cmd_describe(const std::vector<std::string>& args, const std::string&) {
  if (args.size() != 1) throw UsageError("describe takes exactly one case name");
  const CaseInfo* c = Registry::instance().find(args[0]);
  if (!c) throw UsageError("unknown case '" + args[0] + "' ('diorace list' shows the cases)");
  std::cout << c->name << ": " << c->summary << "\n\n";
  std::cout << "races:      " << c->races << "\n";
  std::cout << "seed:       " << c->seed_thread << "\n";
  for (const auto& f : c->fixed_by) std::cout << "fixed by:   " << f.hash << " (\"" << f.subject << "\")\n";
  for (const auto& k : c->known_bad) std::cout << "known bad:  " << k << "\n";
  std::string needs, oracles, detectors;
  for (const auto& n : need_names(c->needs)) needs += n + " ";
  for (const auto& o : c->oracles.names()) oracles += o + " ";
  for (const auto& d : c->detectors) detectors += d + " ";
  std::cout << "needs:      " << (needs.empty() ? "-" : needs) << "\n";
  std::cout << "oracles:    " << oracles << "\n";
  std::cout << "detectors:  " << (detectors.empty() ? "none (the data oracle decides)" : detectors) << "\n";
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
  return 0;
}

extern const Command kDescribeCommand{
    "describe", "CASE", "one case: race, fixing commits, oracles, controls, parameters", cmd_describe, nullptr,
    "  the case's race, fixing commits, known-bad kernels, needs, oracles, detectors, proof controls and\n"
    "  parameters ('diorace list' names the cases)\n"};

}  // namespace diorace
