// SPDX-License-Identifier: GPL-2.0-or-later
// diorace results list|show|compare|export|delete|bisections|previous.
#include <optional>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/config.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/hash.hpp"
#include "diorace/process.hpp"
#include "diorace/lava.hpp"
#include "diorace/outfile.hpp"
#include "diorace/report.hpp"
#include "diorace/state.hpp"
#include "diorace/store.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "store_access.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

// A finished LAVA job into the store: its log (lava-run's output.yaml, or a
// lava-server's through lavacli) and its health.
int import_lava(const std::vector<std::string>& args, const char* usage) {
  po::options_description desc("import-lava options");
  desc.add_options()("log", po::value<std::string>(), "the job's log (YAML list of {dt, lvl, msg})")
      ("lava-uri", po::value<std::string>(), "a lava-server (lavacli --uri): read job --job from it")
      ("job", po::value<std::string>(), "the job id on --lava-uri")
      ("health", po::value<std::string>(), "the job's health: Complete, Incomplete, Canceled (from the server when --job)")
      ("label", po::value<std::string>(), "the run's label (default: the job id or the log's name)")
      ("expect", po::value<std::vector<std::string>>()->composing(), "a case the job was to run (repeatable): INCOMPLETE when it never reported")
      ("help,h", "help");
  desc.add(store_option());
  po::positional_options_description pos;
  pos.add("log", 1);
  auto vm = parse_options(desc, args, &pos);
  if (vm.count("help")) {
    std::cout << usage << desc;
    return 0;
  }
  std::string log, health = opt(vm, "health"), label = opt(vm, "label");
  std::string job_uid;  // a job on a server is named by the server and its id, should its log hold no run document
  if (vm.count("job")) {
    if (!vm.count("lava-uri")) throw UsageError("import-lava: --job needs --lava-uri");
    if (vm.count("log")) throw UsageError("import-lava: give a log file or --job, not both");
    const std::string uri = vm["lava-uri"].as<std::string>(), job = vm["job"].as<std::string>();
    auto logs = run_command({"lavacli", "--uri", uri, "jobs", "logs", "--raw", job}, std::chrono::seconds(300));
    if (!logs.ok()) throw SetupError("lavacli jobs logs " + job + ": " + logs.output);
    log = logs.output;
    if (health.empty()) {
      auto show = run_command({"lavacli", "--uri", uri, "jobs", "show", "--json", job}, std::chrono::seconds(120));
      if (!show.ok()) throw SetupError("lavacli jobs show " + job + ": " + show.output);
      health = nlohmann::json::parse(show.output).value("health", "");
    }
    if (label.empty()) label = "lava job " + job;
    job_uid = "lava-" + stable_hash_hex(uri + " " + job);
  } else {
    if (!vm.count("log")) throw UsageError("import-lava: give the job's log file, or --lava-uri URI --job ID");
    const std::string f = vm["log"].as<std::string>();
    if (!try_read_file(f, log)) throw UsageError("import-lava: cannot read " + f);
    if (label.empty()) label = "lava " + std::filesystem::path(f).filename().string();
  }
  std::vector<std::string> expected;
  if (vm.count("expect")) expected = vm["expect"].as<std::vector<std::string>>();
  RunRecord rec = lava_import(log, health, label, expected, job_uid);
  auto store = open_store_for_writing(opt(vm, "store"));
  if (auto have = store->run_with_uid(rec.run.uid)) {
    // Imported before (a nightly run again): the stored run stands, once.
    const RunRecord old = store->load_run(*have);
    std::cout << fmt::format("imported as run {} ({}, already in the store): {} case(s), exit code {}\n", *have,
                             old.run.status, old.cases.size(), old.exit_code.value_or(kExitError));
    return 0;
  }
  const int64_t run = store->begin_run(rec);
  for (const auto& c : rec.cases) store->add_case(run, c);
  store->finish_run(run, rec);
  rec.run.id = run;
  std::cout << fmt::format("imported as run {} ({}{}): ", run, rec.run.status, rec.error.empty() ? "" : ": " + rec.error);
  std::cout << rec.cases.size() << " case(s), exit code " << rec.exit_code.value_or(kExitError) << "\n";
  for (const auto& c : rec.cases) std::cout << format_result(c, 1, 400);
  return 0;
}

}  // namespace

// One option table for every `results` subcommand and a short branch each:
// longer than 80 lines as a whole, but each branch is one job.
namespace {

// Deletes a stored run, unless it is in progress on this machine (its run
// lock is held): its rows stay.
void delete_run(Store& store, int64_t id) {
  const RunRecord run = store.load_run(id);  // says so when there is no such run
  // A run in progress on this machine holds its lock: its rows stay.
  std::optional<RunLock> probe;
  if (!run.run.uid.empty() && run.run.status == "INCOMPLETE") {
    try {
      probe = RunLock::acquire_named("run-" + run.run.uid, fmt::format("run {}", id), false);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("results delete: run {} is in progress ({}); refusing to delete it", id,
                                   e.what()));
    }
  }
  store.delete_run(id);
}

}  // namespace

int cmd_results(const std::vector<std::string>& args, const std::string&) {
  const char* usage =
      "usage: diorace results list [--limit N] [--json] [--store S]\n"
      "       diorace results show RUN [--json] [--store S]\n"
      "       diorace results compare (--kernel A --kernel B | --run A --run B) [--json] [--fail-on-regression]\n"
      "       diorace results export [--run ID]... [--kernel K]... [--junit F] [--ktap F] [--kcidb F] [--jsonl F]\n"
      "                              [--html F] [--json F] [--origin O]   (default: the newest run)\n"
      "       diorace results delete RUN [--store S]\n"
      "       diorace results bisections [--json] [--store S]\n"
      "       diorace results previous RUN [--store S]   (the same kernel's run before it: the night before)\n"
      "       diorace results import-lava (LOG.yaml | --lava-uri URI --job ID) [--health H] [--label L] [--expect CASE]...\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  const std::string sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "import-lava") return import_lava(rest, usage);
  po::options_description desc("results options");
  desc.add_options()("json", po::value<std::string>()->implicit_value("-"), "JSON output (export: to this file)")
      ("limit", po::value<Count>()->default_value(Count{50}), "list: newest N runs")
      ("run", po::value<std::vector<std::string>>()->composing(), "run id (repeatable)")
      ("kernel", po::value<std::vector<std::string>>()->composing(), "every run of this kernel release, version or label (repeatable)")
      ("fail-on-regression", "compare: exit 1 when a case regressed")
      ("help,h", "help");
  desc.add(store_option()).add(report_target_options(false));
  po::positional_options_description pos;
  pos.add("run", -1);
  auto vm = parse_options(desc, rest, &pos);
  if (vm.count("help")) {
    std::cout << usage << desc;
    return 0;
  }
  if (vm["limit"].as<Count>().value == 0) throw UsageError("--limit must be at least 1");
  auto store = open_store_for_reading(opt(vm, "store"));
  const bool json = vm.count("json") > 0;
  if (sub == "list") {
    auto runs = store->list_runs(vm["limit"].as<Count>().value);
    if (json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& r : runs)
        j.push_back({{"id", r.id}, {"started_at", r.started_at}, {"finished_at", r.finished_at}, {"status", r.status},
                     {"exit_code", r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json()}, {"mode", r.mode},
                     {"label", r.label}, {"host", r.host}, {"kernel_release", r.kernel_release},
                     {"cases", r.cases}, {"pass", r.pass}, {"fail", r.fail}, {"skip", r.skip}, {"error", r.error},
                     {"incomplete", r.incomplete}});
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << fmt::format("{:>5}  {:<24} {:<10} {:<5} {:<28} {:>5} {:>4} {:>4} {:>4} {:>5} {:>4}  {}\n", "RUN",
                             "STARTED", "STATUS", "MODE", "KERNEL", "CASES", "PASS", "FAIL", "SKIP", "ERROR", "INC",
                             "LABEL");
    for (const auto& r : runs)
      std::cout << fmt::format("{:>5}  {:<24} {:<10} {:<5} {:<28} {:>5} {:>4} {:>4} {:>4} {:>5} {:>4}  {}\n", r.id,
                               r.started_at, r.status, r.mode, r.kernel_release.empty() ? "?" : r.kernel_release,
                               r.cases, r.pass, r.fail, r.skip, r.error, r.incomplete, r.label);
    return 0;
  }
  if (sub == "show") {
    if (!vm.count("run") || vm["run"].as<std::vector<std::string>>().size() != 1)
      throw UsageError("results show takes one run id");
    auto run = store->load_run(parse_run_id(vm["run"].as<std::vector<std::string>>()[0]));
    if (json)
      std::cout << nlohmann::json(run).dump(2) << "\n";
    else
      print_run(run);
    return 0;
  }
  if (sub == "compare") {
    auto kernels = vm.count("kernel") ? vm["kernel"].as<std::vector<std::string>>() : std::vector<std::string>{};
    auto runs = vm.count("run") ? vm["run"].as<std::vector<std::string>>() : std::vector<std::string>{};
    std::vector<RunRecord> a, b;
    std::string an, bn;
    if (kernels.size() == 2 && runs.empty()) {
      for (auto id : store->runs_matching(kernels[0])) a.push_back(store->load_run(id));
      for (auto id : store->runs_matching(kernels[1])) b.push_back(store->load_run(id));
      if (a.empty()) throw UsageError("no run of kernel '" + kernels[0] + "' in the store " + store->uri());
      if (b.empty()) throw UsageError("no run of kernel '" + kernels[1] + "' in the store " + store->uri());
      an = kernels[0] + fmt::format(" ({} runs)", a.size());
      bn = kernels[1] + fmt::format(" ({} runs)", b.size());
    } else if (runs.size() == 2 && kernels.empty()) {
      a.push_back(store->load_run(parse_run_id(runs[0])));
      b.push_back(store->load_run(parse_run_id(runs[1])));
      an = "run " + runs[0] + " (" + kernel_label(a[0]) + ")";
      bn = "run " + runs[1] + " (" + kernel_label(b[0]) + ")";
    } else {
      throw UsageError("results compare takes --kernel A --kernel B, or --run A --run B");
    }
    auto cmp = compare_runs(a, b);
    if (json)
      std::cout << nlohmann::json{{"a", an}, {"b", bn}, {"comparison", cmp}}.dump(2) << "\n";
    else
      std::cout << format_comparison(cmp, an, bn);
    return vm.count("fail-on-regression") && !cmp["regressed"].empty() ? 1 : 0;
  }
  if (sub == "export") {
    auto runs = select_runs(*store, vm, 1);
    ReportTargets out;
    read_report_targets(vm, out);
    std::string json_file = opt(vm, "json");
    validate_outputs(out, {{"--json", json_file}});
    if (!json_file.empty() && json_file != "-") check_output_path(json_file, "--json");
    if (!out.any_file() && json_file.empty()) throw UsageError("results export: give --junit, --ktap, --kcidb, --jsonl, --html or --json");
    write_outputs(runs, out);
    if (json_file == "-")
      std::cout << nlohmann::json(runs).dump(2) << "\n";
    else if (!json_file.empty())
      write_output_file(json_file, nlohmann::json(runs).dump(2) + "\n");
    return 0;
  }
  if (sub == "previous") {
    if (!vm.count("run") || vm["run"].as<std::vector<std::string>>().size() != 1)
      throw UsageError("results previous takes one run id");
    const int64_t id = parse_run_id(vm["run"].as<std::vector<std::string>>()[0]);
    (void)store->load_run(id);  // says so when there is no such run
    if (int64_t p = store->previous_run(id)) std::cout << p << "\n";
    return 0;
  }
  if (sub == "bisections") {
    auto list = store->list_bisections(vm["limit"].as<Count>().value);
    if (json) {
      std::cout << list.dump(2) << "\n";
      return 0;
    }
    for (const auto& b : list) {
      const auto& r = b["result"];
      std::cout << fmt::format("{:>4}  {:<9} {:<14} runs {:>4}  started {}  {}\n", b["id"].get<int64_t>(),
                               b["status"].get<std::string>(), b["case"].get<std::string>(), b["runs"].get<int64_t>(),
                               b["started_at"].get<std::string>(),
                               r.contains("first") ? fmt::format("first {}: {} (confidence {:.4f})",
                                                                 r.value("direction", ""), r["first"].get<std::string>(),
                                                                 r.value("confidence", 0.0))
                                                   : r.value("error", std::string()));
    }
    return 0;
  }
  if (sub == "delete") {
    if (!vm.count("run")) throw UsageError("results delete takes run ids");
    for (const auto& id : vm["run"].as<std::vector<std::string>>()) delete_run(*store, parse_run_id(id));
    return 0;
  }
  throw UsageError("unknown results command '" + sub + "' (list, show, compare, export, delete, bisections, previous, import-lava)");
}

}  // namespace diorace
