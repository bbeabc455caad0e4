// SPDX-License-Identifier: GPL-2.0-or-later
// diorace report --html: a self-contained HTML report from the store.
#include <sys/stat.h>
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/config.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/outfile.hpp"
#include "diorace/report.hpp"
#include "diorace/store.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "store_access.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

void report_options(CommandOptions& o) {
  o.shown.add_options()("html", po::value<std::string>(), "write the HTML report here")
      ("run", po::value<std::vector<std::string>>()->composing(), "run id (repeatable; default: the newest --limit runs)")
      ("kernel", po::value<std::vector<std::string>>()->composing(), "every run of this kernel (repeatable)")
      ("limit", po::value<Count>()->default_value(Count{200}), "newest N runs when none is named")
      ("document", po::value<std::vector<std::string>>()->composing(),
       "a run document (what run --json or vm --json wrote) instead of the store (repeatable)");
  o.shown.add(store_option());
  o.pos.add("run", -1);
}

}  // namespace

int cmd_report(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kReportCommand, args);
  if (!vm.count("html")) throw UsageError("report: give --html FILE");
  OutputOptions o;
  o.html = vm["html"].as<std::string>();
  o.store = opt(vm, "store");
  NamedFiles documents;
  if (vm.count("document"))
    for (const auto& f : vm["document"].as<std::vector<std::string>>()) documents.emplace_back("--document", f);
  validate_outputs(o, {}, documents);
  std::vector<RunRecord> runs;
  nlohmann::json bisections = nlohmann::json::array();
  if (vm.count("document")) {
    if (vm.count("run") || vm.count("kernel") || vm.count("store"))
      throw UsageError("report: --document reads run documents, not the store (no --run, --kernel or --store with it)");
    for (const auto& f : vm["document"].as<std::vector<std::string>>()) {
      std::string text;
      // A FIFO or a device would block or never end: regular files only.
      struct stat st{};
      if (::stat(f.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw UsageError("--document " + f + ": not a regular file");
      if (!try_read_file(f, text)) throw UsageError("--document " + f + ": cannot be read");
      try {
        runs.push_back(nlohmann::json::parse(text).get<RunRecord>());
      } catch (const std::exception& e) {
        throw UsageError("--document " + f + ": not a diorace run document (" + e.what() + ")");
      }
    }
  } else {
    auto store = open_store_for_reading(opt(vm, "store"));
    runs = select_runs(*store, vm, vm["limit"].as<Count>().value);
    bisections = store->list_bisections(20);
  }
  write_output_file(o.html, to_html(runs, bisections));
  std::fprintf(stderr, "diorace: report of %zu run(s) written to %s\n", runs.size(), o.html.c_str());
  return 0;
}

extern const Command kReportCommand{"report", "--html FILE [RUN...] [--kernel K]... | --document FILE...",
                                    "a self-contained HTML report from the store (or from run documents)", cmd_report,
                                    report_options};

}  // namespace diorace
