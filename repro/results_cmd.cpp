// diorace results list|show|compare|export, diorace report --html, and the
// recording of run/vm results in the store.
#include "results_cmd.hpp"
#include "cli_util.hpp"

#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/config.hpp"
#include "diorace/error.hpp"
#include "diorace/outfile.hpp"
#include "diorace/report.hpp"
#include "diorace/store.hpp"

namespace po = boost::program_options;

namespace diorace {

namespace {

// An explicit --store must work; the default store is a convenience, and a
// run goes on without it (saying so) when it cannot be opened.
std::unique_ptr<Store> open_store_for_run(const std::string& requested) {
  if (requested == "none") return nullptr;
  if (!requested.empty()) return Store::open(requested);
  const std::string uri = Store::default_uri();
  if (uri == "none") return nullptr;
  try {
    return Store::open(uri);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diorace: warning: results not stored: %s\n", e.what());
    return nullptr;
  }
}

std::unique_ptr<Store> open_store_for_reading(const std::string& requested) {
  std::string uri = requested.empty() ? Store::default_uri() : requested;
  if (uri == "none") throw UsageError("--store none: there is no store to read");
  if (uri.find("://") == std::string::npos && ::access(uri.c_str(), F_OK) != 0)
    throw UsageError("--store " + uri + ": no such store (run something first, or give --store)");
  return Store::open(uri, /*read_only=*/true);
}


class RunRecorder final : public RunObserver {
 public:
  RunRecorder(std::unique_ptr<Store> store, OutputOptions out, std::string command)
      : store_(std::move(store)), out_(std::move(out)), command_(std::move(command)) {}
  void run_started(const nlohmann::json& doc) override {
    if (store_) run_ = store_->begin_run(doc, "host", "", command_);
  }
  void case_started(const std::string& name, const std::string& variant, const nlohmann::json& params,
                    uint64_t seed) override {
    if (store_) case_ = store_->begin_case(run_, name, variant, params, seed);
  }
  void case_finished(const CaseResult& r) override {
    if (!store_) return;
    if (case_)
      store_->finish_case(case_, r);
    else
      store_->add_case(run_, r);  // skipped before it started
    case_ = 0;
  }
  void run_finished(const nlohmann::json& doc, int exit_code) override {
    nlohmann::json d = doc;
    if (store_) {
      store_->finish_run(run_, exit_code);
      d = store_->load_run(run_);
      std::fprintf(stderr, "diorace: results stored as run %lld in %s\n", static_cast<long long>(run_),
                   store_->uri().c_str());
    }
    write_outputs({d}, out_);
  }

 private:
  std::unique_ptr<Store> store_;
  OutputOptions out_;
  std::string command_;
  int64_t run_ = 0, case_ = 0;
};

int64_t parse_run_id(const std::string& s) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("'" + s + "' is not a run id ('diorace results list' shows them)");
}


std::string opt(const po::variables_map& vm, const char* key, std::string def = "") {
  return vm.count(key) ? vm[key].as<std::string>() : def;
}

// Runs named by id, or by kernel (every run of that kernel), or the newest.
std::vector<nlohmann::json> select_runs(Store& store, const po::variables_map& vm, size_t default_count) {
  std::vector<int64_t> ids;
  if (vm.count("run"))
    for (const auto& s : vm["run"].as<std::vector<std::string>>()) ids.push_back(parse_run_id(s));
  if (vm.count("kernel"))
    for (const auto& k : vm["kernel"].as<std::vector<std::string>>()) {
      auto m = store.runs_matching(k);
      if (m.empty()) throw UsageError("no run of kernel '" + k + "' in the store " + store.uri());
      ids.insert(ids.end(), m.rbegin(), m.rend());
    }
  if (ids.empty())
    for (const auto& r : store.list_runs(default_count)) ids.insert(ids.begin(), r.id);
  if (ids.empty()) throw UsageError("the store " + store.uri() + " holds no runs");
  std::vector<nlohmann::json> runs;
  for (auto id : ids) runs.push_back(store.load_run(id));
  return runs;
}

void print_run(const nlohmann::json& run) {
  const auto& r = run["run"];
  std::cout << fmt::format("run {}  {}  {}{}  started {}  finished {}  exit {}\n", r["id"].get<int64_t>(),
                           r["status"].get<std::string>(), r["mode"].get<std::string>(),
                           r["label"].get<std::string>().empty() ? "" : " " + r["label"].get<std::string>(),
                           r["started_at"].get<std::string>(),
                           r["finished_at"].get<std::string>().empty() ? "-" : r["finished_at"].get<std::string>(),
                           run.contains("exit_code") ? std::to_string(run["exit_code"].get<int64_t>()) : "-");
  std::cout << fmt::format("kernel {} ({}) on {}, config digest {}\n", kernel_label(run),
                           run["/system/kernel/version"_json_pointer].get<std::string>(),
                           run["/system/kernel/host"_json_pointer].get<std::string>(),
                           run["/system/kconfig/digest"_json_pointer].get<std::string>().substr(0, 16));
  for (const auto& c : run["cases"]) {
    CaseResult cr = c.get<CaseResult>();
    if (cr.verdict == Verdict::incomplete && cr.reason.empty()) cr.reason = "the run ended before this case did";
    std::cout << summary_line(cr) << "\n";
    int shown = 0;
    for (const auto& ev : c["events"]) {
      std::string type = ev.value("type", "");
      std::string body = type == "corruption" ? ev.value("report", "") : ev.value("text", "");
      if (body.empty() || type == "note" || ++shown > 3) continue;
      std::cout << "  [" << type << "] " << body.substr(0, 2000) << "\n";
    }
  }
}

}  // namespace

std::unique_ptr<RunObserver> make_run_recorder(const RunOptions& opts, const std::string& command) {
  validate_outputs(opts.reports);
  return std::make_unique<RunRecorder>(open_store_for_run(opts.reports.store), opts.reports, command);
}

int run_vm_recorded(const VmOptions& o, const ReportTargets& out, const std::string& command, int64_t* stored_run) {
  validate_outputs(out);
  auto store = open_store_for_run(out.store);
  int64_t run = 0;
  const std::string label = o.deb.empty() ? o.kernel : o.deb;
  if (store) run = store->begin_run(nlohmann::json::object(), "vm", label, command);
  nlohmann::json doc;
  int code;
  try {
    code = run_vm(o, &doc);
  } catch (const UsageError& e) {
    // Refused before booting (a bad guest command): the stored run says so
    // instead of staying INCOMPLETE or reading COMPLETE with no case.
    if (store) store->finish_run(run, kExitError, {{"error", e.what()}}, "REFUSED");
    throw;
  } catch (const std::exception& e) {
    if (store) store->finish_run(run, kExitError, {{"error", e.what()}}, "ERROR");
    throw;
  }
  if (store) {
    store->update_run_identity(run, doc);
    for (const auto& c : doc.value("cases", nlohmann::json::array())) store->add_case(run, c.get<CaseResult>());
    store->finish_run(run, code, doc.value("vm", nlohmann::json::object()));
    doc = store->load_run(run);
    std::fprintf(stderr, "diorace: results stored as run %lld in %s\n", static_cast<long long>(run),
                 store->uri().c_str());
    if (stored_run) *stored_run = run;
  }
  write_outputs({doc}, out);
  return code;
}

int cmd_results(const std::vector<std::string>& args) {
  const char* usage =
      "usage: diorace results list [--limit N] [--json] [--store S]\n"
      "       diorace results show RUN [--json] [--store S]\n"
      "       diorace results compare (--kernel A --kernel B | --run A --run B) [--json] [--fail-on-regression]\n"
      "       diorace results export [--run ID]... [--kernel K]... [--junit F] [--ktap F] [--kcidb F] [--jsonl F]\n"
      "                              [--html F] [--json F] [--origin O]   (default: the newest run)\n"
      "       diorace results delete RUN [--store S]\n"
      "       diorace results bisections [--json] [--store S]\n"
      "       diorace results previous RUN [--store S]   (the same kernel's run before it: the night before)\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  const std::string sub = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description desc("results options");
  desc.add_options()("store", po::value<std::string>(), "the store (default: results/diorace.sqlite)")
      ("json", po::value<std::string>()->implicit_value("-"), "JSON output (export: to this file)")
      ("limit", po::value<Count>()->default_value(Count{50}), "list: newest N runs")
      ("run", po::value<std::vector<std::string>>()->composing(), "run id (repeatable)")
      ("kernel", po::value<std::vector<std::string>>()->composing(), "every run of this kernel release, version or label (repeatable)")
      ("fail-on-regression", "compare: exit 1 when a case regressed")
      ("help,h", "help");
  desc.add(report_target_options(false));
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
      std::cout << run.dump(2) << "\n";
    else
      print_run(run);
    return 0;
  }
  if (sub == "compare") {
    auto kernels = vm.count("kernel") ? vm["kernel"].as<std::vector<std::string>>() : std::vector<std::string>{};
    auto runs = vm.count("run") ? vm["run"].as<std::vector<std::string>>() : std::vector<std::string>{};
    std::vector<nlohmann::json> a, b;
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
      std::cout << nlohmann::json({{"a", an}, {"b", bn}, {"comparison", cmp}}).dump(2) << "\n";
    else
      std::cout << format_comparison(cmp, an, bn);
    return vm.count("fail-on-regression") && !cmp["regressed"].empty() ? 1 : 0;
  }
  if (sub == "export") {
    auto runs = select_runs(*store, vm, 1);
    ReportTargets out;
    read_report_targets(vm, out);
    validate_outputs(out);
    std::string json_file = opt(vm, "json");
    if (!json_file.empty() && json_file != "-") check_output_path(json_file, "--json");
    if (!out.any_file() && json_file.empty()) throw UsageError("results export: give --junit, --ktap, --kcidb, --jsonl, --html or --json");
    write_outputs(runs, out);
    if (json_file == "-")
      std::cout << nlohmann::json(runs).dump(2) << "\n";
    else if (!json_file.empty())
      write_run_document(json_file, nlohmann::json(runs));
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
    for (const auto& s : vm["run"].as<std::vector<std::string>>()) {
      auto id = parse_run_id(s);
      (void)store->load_run(id);  // says so when there is no such run
      store->delete_run(id);
    }
    return 0;
  }
  throw UsageError("unknown results command '" + sub + "' (list, show, compare, export, delete, bisections, previous)");
}

int cmd_config(const std::vector<std::string>& args) {
  po::options_description desc("config options");
  desc.add_options()("config", po::value<std::string>(), "config file (default: $DIORACE_CONFIG)")
      ("section", po::value<std::string>(), "section")
      ("get", po::value<std::string>(), "print one key: TEST_DIR TEST_DEV SCRATCH_DEV FSTYPE MKFS_OPTIONS FORCE_DEVICE KERNELS STORE")
      ("help,h", "help");
  auto vm = parse_options(desc, args);
  if (vm.count("help")) {
    std::cout << "usage: diorace config [--config FILE] [--section S] [--get KEY]\n" << desc;
    return 0;
  }
  auto t = target_settings(opt(vm, "config"), opt(vm, "section"));
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> kv = {
      {"TEST_DIR", t.test_dir},         {"TEST_DEV", t.test_dev},   {"SCRATCH_DEV", t.scratch_dev},
      {"FSTYPE", t.fstype},             {"MKFS_OPTIONS", t.mkfs_options}, {"FORCE_DEVICE", join(t.force_device)},
      {"KERNELS", join(t.kernels)},     {"STORE", Store::default_uri()}};
  if (vm.count("get")) {
    for (const auto& [k, v] : kv)
      if (k == vm["get"].as<std::string>()) {
        std::cout << v << "\n";
        return 0;
      }
    throw UsageError("config --get: unknown key '" + vm["get"].as<std::string>() + "'");
  }
  std::cout << "# " << (t.source.empty() ? "no config file" : t.source) << "\n";
  for (const auto& [k, v] : kv) std::cout << k << " = " << v << "\n";
  return 0;
}

int cmd_report(const std::vector<std::string>& args) {
  po::options_description desc("report options");
  desc.add_options()("html", po::value<std::string>(), "write the HTML report here")
      ("store", po::value<std::string>(), "the store (default: results/diorace.sqlite)")
      ("run", po::value<std::vector<std::string>>()->composing(), "run id (repeatable; default: the newest --limit runs)")
      ("kernel", po::value<std::vector<std::string>>()->composing(), "every run of this kernel (repeatable)")
      ("limit", po::value<Count>()->default_value(Count{200}), "newest N runs when none is named")
      ("help,h", "help");
  po::positional_options_description pos;
  pos.add("run", -1);
  auto vm = parse_options(desc, args, &pos);
  if (vm.count("help")) {
    std::cout << "usage: diorace report --html FILE [RUN...] [--kernel K]... [--store S]\n" << desc;
    return 0;
  }
  if (!vm.count("html")) throw UsageError("report: give --html FILE");
  OutputOptions o;
  o.html = vm["html"].as<std::string>();
  validate_outputs(o);
  auto store = open_store_for_reading(opt(vm, "store"));
  auto runs = select_runs(*store, vm, vm["limit"].as<Count>().value);
  write_outputs(runs, o);
  std::fprintf(stderr, "diorace: report of %zu run(s) written to %s\n", runs.size(), o.html.c_str());
  return 0;
}

}  // namespace diorace
