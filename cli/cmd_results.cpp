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
#include "diorace/explore.hpp"
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

extern const Command kImportLava;

void import_lava_options(CommandOptions& o) {
  o.shown.add_options()("log", po::value<std::string>(), "the job's log (YAML list of {dt, lvl, msg})")
      ("lava-uri", po::value<std::string>(), "a lava-server (lavacli --uri): read job --job from it")
      ("job", po::value<std::string>(), "the job id on --lava-uri")
      ("health", po::value<std::string>(), "the job's health: Complete, Incomplete, Canceled (from the server when --job)")
      ("label", po::value<std::string>(), "the run's label (default: the job id or the log's name)")
      ("expect", po::value<std::vector<std::string>>()->composing(), "a case the job was to run (repeatable): INCOMPLETE when it never reported");
  o.shown.add(store_option());
  o.pos.add("log", 1);
}

// lavacli's --json output, or a clear error.
nlohmann::json parse_lavacli_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw SetupError("lavacli " + what + ": " + text.substr(0, 300));
  }
}

// A job as a lava-server has it, through lavacli: its state and health,
// its log as it is now, and whether the server's results API agrees with
// the run document in that log.
struct ServerJob {
  std::string log, state, health;
  std::vector<std::string> disagree;
};
ServerJob read_server_job(const std::string& uri, const std::string& job) {
  ServerJob j;
  auto show = run_command({"lavacli", "--uri", uri, "jobs", "show", "--json", job}, std::chrono::seconds(120));
  if (!show.ok()) throw SetupError("lavacli jobs show " + job + ": " + show.output);
  const auto shown = parse_lavacli_json(show.output, "jobs show " + job);
  j.state = shown.value("state", "");
  j.health = shown.value("health", "");
  // --no-follow: the log as it is now, also of a job still running.
  auto logs = run_command({"lavacli", "--uri", uri, "jobs", "logs", "--raw", "--no-follow", job},
                          std::chrono::seconds(300));
  if (!logs.ok() && j.state == "Finished") throw SetupError("lavacli jobs logs " + job + ": " + logs.output);
  j.log = logs.ok() ? logs.output : "";
  if (j.state != "Finished" && j.log.find('{') == std::string::npos)  // not started: no log yet
    j.log = "- {\"dt\": \"\", \"lvl\": \"info\", \"msg\": \"diorace: the job has no log yet\"}\n";
  auto results = run_command({"lavacli", "--uri", uri, "results", job, "--json"}, std::chrono::seconds(120));
  if (!results.ok()) throw SetupError("lavacli results " + job + ": " + results.output);
  j.disagree = lava_results_disagreements(j.log, parse_lavacli_json(results.output, "results " + job));
  return j;
}

// What the server said that the log alone does not: an unfinished job, or
// results that disagree with the log, is no complete run.
void apply_server_view(RunRecord& rec, const ServerJob& j) {
  auto add = [&](const std::string& why, const std::string& status) {
    rec.error += std::string(rec.error.empty() ? "" : "; ") + why;
    rec.run.status = status;
    rec.complete = false;
    rec.exit_code = std::max(rec.exit_code.value_or(kExitError), kExitError);
  };
  if (j.state != "Finished")
    add("the job is " + j.state + " on the server, not finished", rec.cases.empty() ? "ERROR" : "INCOMPLETE");
  if (!j.disagree.empty()) {
    std::string all;
    for (const auto& d : j.disagree) all += (all.empty() ? "" : "; ") + d;
    add("the server's results disagree with the log: " + all, "INCOMPLETE");
  }
}

// A finished LAVA job into the store: its log (lava-run's output.yaml, or a
// lava-server's through lavacli) and its health.
int results_import_lava(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kImportLava, args);
  std::string log, health = opt(vm, "health"), label = opt(vm, "label");
  std::string job_uid;  // a job on a server is named by the server and its id, should its log hold no run document
  std::optional<ServerJob> server;
  if (vm.count("job")) {
    if (!vm.count("lava-uri")) throw UsageError("import-lava: --job needs --lava-uri");
    if (vm.count("log")) throw UsageError("import-lava: give a log file or --job, not both");
    const std::string uri = vm["lava-uri"].as<std::string>(), job = vm["job"].as<std::string>();
    server = read_server_job(uri, job);
    log = server->log;
    if (health.empty()) health = server->health;
    if (label.empty()) label = "lava job " + job;
    // A job still running (its worker gone, or waited for too briefly) is
    // stored as a run of its own each time: a later import of it finished is
    // not "already in the store".
    if (server->state == "Finished") job_uid = "lava-" + stable_hash_hex(uri + " " + job);
  } else {
    if (!vm.count("log")) throw UsageError("import-lava: give the job's log file, or --lava-uri URI --job ID");
    const std::string f = vm["log"].as<std::string>();
    if (!try_read_file(f, log)) throw UsageError("import-lava: cannot read " + f);
    if (label.empty()) label = "lava " + std::filesystem::path(f).filename().string();
  }
  std::vector<std::string> expected;
  if (vm.count("expect")) expected = vm["expect"].as<std::vector<std::string>>();
  RunRecord rec = lava_import(log, health, label, expected, job_uid);
  if (server) apply_server_view(rec, *server);
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
  if (server && server->disagree.empty()) std::cout << "the server's results agree with the log\n";
  for (const auto& c : rec.cases) std::cout << format_result(c, 1, 400);
  return 0;
}


// The options of the subcommands: what each one reads.
void json_flag(CommandOptions& o) { o.shown.add_options()("json", "JSON output"); }
void one_run(CommandOptions& o) {
  o.words.add_options()("run", po::value<std::vector<std::string>>(), "run id");
  o.pos.add("run", -1);
}
void list_options(CommandOptions& o) {
  o.shown.add_options()("limit", po::value<Count>()->default_value(Count{50}), "newest N runs");
  json_flag(o);
  o.shown.add(store_option());
}
void show_options(CommandOptions& o) {
  json_flag(o);
  o.shown.add(store_option());
  one_run(o);
}
void compare_options(CommandOptions& o) {
  o.shown.add_options()("run", po::value<std::vector<std::string>>()->composing(), "a run id (twice)")
      ("kernel", po::value<std::vector<std::string>>()->composing(), "every run of this kernel release, version or label (twice)")
      ("fail-on-regression", "exit 1 when a case regressed");
  json_flag(o);
  o.shown.add(store_option());
}
void export_options(CommandOptions& o) {
  o.shown.add_options()("run", po::value<std::vector<std::string>>()->composing(), "run id (repeatable; default: the newest run)")
      ("kernel", po::value<std::vector<std::string>>()->composing(), "every run of this kernel release, version or label (repeatable)")
      ("json", po::value<std::string>(), "write the runs as JSON here (-: standard output)");
  o.shown.add(store_option()).add(report_target_options(false));
  o.pos.add("run", -1);
}
void store_only(CommandOptions& o) {
  o.shown.add(store_option());
  one_run(o);
}
void bisections_options(CommandOptions& o) {
  o.shown.add_options()("limit", po::value<Count>()->default_value(Count{50}), "newest N bisections");
  json_flag(o);
  o.shown.add(store_option());
}

uint64_t limit_of(const po::variables_map& vm) {
  const uint64_t limit = vm["limit"].as<Count>().value;
  if (limit == 0) throw UsageError("--limit must be at least 1");
  return limit;
}

// The one run id a subcommand takes.
int64_t the_run(const po::variables_map& vm, const char* sub) {
  if (!vm.count("run") || vm["run"].as<std::vector<std::string>>().size() != 1)
    throw UsageError(fmt::format("results {} takes one run id", sub));
  return parse_run_id(vm["run"].as<std::vector<std::string>>()[0]);
}

extern const Command kList, kShow, kCompare, kExport, kDelete, kBisections, kPrevious, kFindings;

void findings_options(CommandOptions& o) {
  o.shown.add_options()("out", po::value<std::string>(), "the directory to write them to (default: diorace-findings)");
  o.shown.add(store_option());
  one_run(o);
}

// The explorer's findings of a stored run, as program files to replay.
int results_findings(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kFindings, args);
  auto store = open_store_for_reading(opt(vm, "store"));
  const RunRecord run = store->load_run(the_run(vm, "findings"));
  const auto written = write_finding_programs(run.cases, opt(vm, "out", "diorace-findings"));
  for (const auto& path : written) std::cout << path << "  (diorace replay " << path << ")\n";
  if (written.empty()) std::cout << "run " << run.run.id.value_or(0) << " holds no finding with a program\n";
  return 0;
}

int results_list(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kList, args);
  const uint64_t limit = limit_of(vm);
  auto runs = open_store_for_reading(opt(vm, "store"))->list_runs(limit);
  if (vm.count("json")) {
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
  constexpr const char* kRow = "{:>5}  {:<24} {:<10} {:<5} {:<28} {:>5} {:>4} {:>4} {:>4} {:>5} {:>4}  {}\n";
  std::cout << fmt::format(kRow, "RUN", "STARTED", "STATUS", "MODE", "KERNEL", "CASES", "PASS", "FAIL", "SKIP", "ERROR",
                           "INC", "LABEL");
  for (const auto& r : runs)
    std::cout << fmt::format(kRow, r.id, r.started_at, r.status, r.mode, r.kernel_release.empty() ? "?" : r.kernel_release,
                             r.cases, r.pass, r.fail, r.skip, r.error, r.incomplete, r.label);
  return 0;
}

int results_show(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kShow, args);
  auto store = open_store_for_reading(opt(vm, "store"));
  auto run = store->load_run(the_run(vm, "show"));
  if (vm.count("json"))
    std::cout << nlohmann::json(run).dump(2) << "\n";
  else
    print_run(run);
  return 0;
}

int results_compare(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kCompare, args);
  auto kernels = vm.count("kernel") ? vm["kernel"].as<std::vector<std::string>>() : std::vector<std::string>{};
  auto runs = vm.count("run") ? vm["run"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (!((kernels.size() == 2 && runs.empty()) || (runs.size() == 2 && kernels.empty())))
    throw UsageError("results compare takes --kernel A --kernel B, or --run A --run B");
  auto store = open_store_for_reading(opt(vm, "store"));
  std::vector<RunRecord> a, b;
  std::string an, bn;
  if (!kernels.empty()) {
    for (auto id : store->runs_matching(kernels[0])) a.push_back(store->load_run(id));
    for (auto id : store->runs_matching(kernels[1])) b.push_back(store->load_run(id));
    if (a.empty()) throw UsageError("no run of kernel '" + kernels[0] + "' in the store " + store->uri());
    if (b.empty()) throw UsageError("no run of kernel '" + kernels[1] + "' in the store " + store->uri());
    an = kernels[0] + fmt::format(" ({} runs)", a.size());
    bn = kernels[1] + fmt::format(" ({} runs)", b.size());
  } else {
    a.push_back(store->load_run(parse_run_id(runs[0])));
    b.push_back(store->load_run(parse_run_id(runs[1])));
    an = "run " + runs[0] + " (" + kernel_label(a[0]) + ")";
    bn = "run " + runs[1] + " (" + kernel_label(b[0]) + ")";
  }
  auto cmp = compare_runs(a, b);
  if (vm.count("json"))
    std::cout << nlohmann::json{{"a", an}, {"b", bn}, {"comparison", cmp}}.dump(2) << "\n";
  else
    std::cout << format_comparison(cmp, an, bn);
  return vm.count("fail-on-regression") && !cmp["regressed"].empty() ? 1 : 0;
}

int results_export(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kExport, args);
  ReportTargets out;
  read_report_targets(vm, out);
  const std::string json_file = opt(vm, "json");
  validate_outputs(out, {{"--json", json_file}});
  if (!json_file.empty() && json_file != "-") check_output_path(json_file, "--json");
  if (!out.any_file() && json_file.empty()) throw UsageError("results export: give --junit, --ktap, --kcidb, --jsonl, --html or --json");
  auto store = open_store_for_reading(opt(vm, "store"));
  auto runs = select_runs(*store, vm, 1);
  write_outputs(runs, out);
  if (json_file == "-")
    std::cout << nlohmann::json(runs).dump(2) << "\n";
  else if (!json_file.empty())
    write_output_file(json_file, nlohmann::json(runs).dump(2) + "\n");
  return 0;
}

int results_previous(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kPrevious, args);
  auto store = open_store_for_reading(opt(vm, "store"));
  const int64_t id = the_run(vm, "previous");
  (void)store->load_run(id);  // says so when there is no such run
  if (int64_t p = store->previous_run(id)) std::cout << p << "\n";
  return 0;
}

int results_bisections(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kBisections, args);
  auto list = open_store_for_reading(opt(vm, "store"))->list_bisections(limit_of(vm));
  if (vm.count("json")) {
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

// Deletes stored runs, unless one is in progress on this machine (its run
// lock is held): its rows stay.
int results_delete(const std::vector<std::string>& args, const std::string&) {
  auto vm = parse_command(kDelete, args);
  if (!vm.count("run")) throw UsageError("results delete takes run ids");
  auto store = open_store_for_reading(opt(vm, "store"));
  for (const auto& text : vm["run"].as<std::vector<std::string>>()) {
    const int64_t id = parse_run_id(text);
    const RunRecord run = store->load_run(id);  // says so when there is no such run
    std::optional<RunLock> probe;
    if (!run.run.uid.empty() && run.run.status == "INCOMPLETE") {
      try {
        probe = RunLock::acquire_named("run-" + run.run.uid, fmt::format("run {}", id), false);
      } catch (const UsageError& e) {
        throw UsageError(fmt::format("results delete: run {} is in progress ({}); refusing to delete it", id, e.what()));
      }
    }
    store->delete_run(id);
  }
  return 0;
}

constexpr const char* kPreviousDetails = "  (the same kernel's run before it: the night before)\n";

extern const Command kList{"list", "[--limit N] [--json]", "the newest runs", results_list, list_options};
extern const Command kShow{"show", "RUN [--json]", "one run, every case", results_show, show_options};
extern const Command kCompare{"compare", "(--kernel A --kernel B | --run A --run B) [--json] [--fail-on-regression]",
                              "what changed between two kernels or runs", results_compare, compare_options};
extern const Command kExport{"export", "[--run ID]... [--kernel K]... [--junit F] [--ktap F] [--kcidb F] [--jsonl F] [--html F] [--json F]",
                             "runs as report files (default: the newest run)", results_export, export_options};
extern const Command kDelete{"delete", "RUN...", "delete stored runs (not one in progress)", results_delete, store_only};
extern const Command kBisections{"bisections", "[--json]", "the stored bisections and their answers", results_bisections,
                                 bisections_options};
extern const Command kPrevious{"previous", "RUN", "the id of the same kernel's run before RUN", results_previous,
                               store_only, kPreviousDetails};
extern const Command kFindings{"findings", "RUN [--out DIR]",
                               "the explorer's findings of a stored run, as program files to replay",
                               results_findings, findings_options};
extern const Command kImportLava{"import-lava", "(LOG.yaml | --lava-uri URI --job ID) [--health H] [--label L] [--expect CASE]...",
                                 "a finished LAVA job into the store", results_import_lava, import_lava_options};

constexpr const Command* kResultsSubcommands[] = {&kList,     &kShow,     &kCompare,  &kExport,   &kDelete,
                                                  &kBisections, &kPrevious, &kFindings, &kImportLava};

// Never run: a command with subcommands runs one of them (dispatch).
int results_without_subcommand(const std::vector<std::string>&, const std::string&) { return 2; }

}  // namespace

extern const Command kResultsCommand{"results", "SUBCOMMAND [OPTIONS]", "the result store",
                                     results_without_subcommand, nullptr, "", kResultsSubcommands};

}  // namespace diorace
