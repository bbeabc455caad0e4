// SPDX-License-Identifier: GPL-2.0-or-later
// The program's access to the result store: recording `run` and `vm`
// results, opening a store to read, selecting and printing stored runs.
#include "store_access.hpp"

#include "diorace/registry.hpp"
#include "options.hpp"

#include <cstdio>
#include <optional>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "diorace/cli_values.hpp"
#include "diorace/config.hpp"
#include "diorace/emulator.hpp"
#include "diorace/distro.hpp"
#include "diorace/error.hpp"
#include "diorace/outfile.hpp"
#include "diorace/report.hpp"
#include "diorace/state.hpp"
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




// Records the run as it goes. A store that fails half-way (locked, full,
// gone) does not stop the run: the error is said once, the cases go on, and
// the whole run document is written to a recovery file it names at the end.
class RunRecorder final : public RunObserver {
 public:
  RunRecorder(std::unique_ptr<Store> store, OutputOptions out) : store_(std::move(store)), out_(std::move(out)) {}
  void run_started(const RunRecord& record) override {
    // `results delete` refuses a run that holds this.
    try {
      live_ = RunLock::acquire_named("run-" + record.run.uid, "run " + record.run.uid, false);
    } catch (const std::exception&) {
    }
    guard([&] { run_ = store_->begin_run(record); });
  }
  void case_started(const std::string& name, const std::string& variant, const nlohmann::json& params,
                    uint64_t seed) override {
    case_ = 0;
    guard([&] { case_ = store_->begin_case(run_, name, variant, params, seed); });
  }
  void case_finished(const CaseResult& r) override {
    guard([&] {
      if (case_)
        store_->finish_case(case_, r);
      else
        store_->add_case(run_, r);  // skipped before it started
    });
    case_ = 0;
  }
  void run_finished(const RunRecord& record) override {
    RunRecord rec = record;
    guard([&] {
      store_->finish_run(run_, rec);
      rec.run.id = run_;
      std::fprintf(stderr, "diorace: results stored as run %lld in %s\n", static_cast<long long>(run_),
                   store_->uri().c_str());
    });
    if (!error_.empty()) {
      const std::string recovery = fmt::format("/var/tmp/diorace-unstored-{}.json", rec.run.uid);
      try {
        write_output_file(recovery, nlohmann::json(rec).dump(2) + "\n");
        error_ += "; the whole run is in " + recovery;
      } catch (const std::exception& e) {
        error_ += std::string("; the recovery file could not be written either: ") + e.what();
      }
      std::fprintf(stderr, "diorace: results not fully stored: %s\n", error_.c_str());
    }
    try {
      write_outputs({rec}, out_);
    } catch (const std::exception& e) {
      if (error_.empty()) error_ = e.what();
      std::fprintf(stderr, "diorace: %s\n", e.what());
    }
  }
  std::string error() const override { return error_; }

 private:
  template <class F>
  void guard(F&& f) {
    if (!store_ || store_failed_) return;
    try {
      f();
    } catch (const std::exception& e) {
      store_failed_ = true;
      error_ = "store " + store_->uri() + ": " + e.what();
      std::fprintf(stderr, "diorace: %s; the run goes on, its results go to a recovery file\n", error_.c_str());
    }
  }
  std::unique_ptr<Store> store_;
  OutputOptions out_;
  int64_t run_ = 0, case_ = 0;
  bool store_failed_ = false;
  std::string error_;
  RunLock live_;
};

}  // namespace

std::unique_ptr<RunObserver> make_run_recorder(const RunOptions& opts) {
  validate_outputs(opts.reports, {{"--json", opts.json_path}}, {{"--config", opts.config_path}});
  return std::make_unique<RunRecorder>(open_store_for_run(opts.reports.store), opts.reports);
}

namespace {

bool has_emulator_artifact(const RunRecord& rec) {
  for (const auto& c : rec.cases)
    if (c.verdict == Verdict::error && c.reason.rfind(kEmulatorArtifactReason, 0) == 0) return true;
  return false;
}

int run_vm_recorded_once(const VmOptions& o, const ReportTargets& out, int64_t* stored_run, RunRecord& rec);

}  // namespace

int run_vm_recorded(const VmOptions& o, const ReportTargets& out, int64_t* stored_run) {
  // An emulator artifact is no result: the run stays stored (its evidence
  // kept) and the kernel is booted again.
  for (unsigned attempt = 0;; ++attempt) {
    RunRecord rec;
    const int code = run_vm_recorded_once(o, out, stored_run, rec);
    if (attempt >= o.artifact_retries || !has_emulator_artifact(rec)) return code;
    std::fprintf(stderr, "diorace vm: the only evidence was an emulator artifact under TCG: booting again (%u of %u)\n",
                 attempt + 1, o.artifact_retries);
  }
}

namespace {

int run_vm_recorded_once(const VmOptions& o, const ReportTargets& out, int64_t* stored_run, RunRecord& rec) {
  validate_outputs(out, {{"--json", o.json_path}, {"--console-log", o.console_log}});
  auto store = open_store_for_run(out.store);
  int64_t run = 0;
  rec = RunRecord{};
  rec.run = {.uid = new_run_uid(), .started_at = utc_timestamp(), .mode = "vm",
             .label = o.deb.empty() ? o.kernel : o.deb, .command = o.command};
  // `results delete` refuses a run that holds this (a VM run in progress).
  std::optional<RunLock> live;
  try {
    live = RunLock::acquire_named("run-" + rec.run.uid, "run " + rec.run.uid, false);
  } catch (const std::exception&) {
  }
  if (store) run = store->begin_run(rec);
  // Refused before booting (a bad guest command) or broken before any case:
  // the stored run says so instead of staying INCOMPLETE or reading
  // COMPLETE with no case.
  auto ended_early = [&](const char* status, const std::exception& e) {
    if (!store) return;
    rec.run.status = status;
    rec.run.finished_at = utc_timestamp();
    rec.exit_code = kExitError;
    rec.error = e.what();
    store->finish_run(run, rec);
  };
  int code;
  try {
    code = run_vm(o, &rec);
  } catch (const UsageError& e) {
    ended_early("REFUSED", e);
    throw;
  } catch (const std::exception& e) {
    ended_early("ERROR", e);
    throw;
  }
  if (store) {
    store->update_run(run, rec);
    for (const auto& c : rec.cases) store->add_case(run, c);
    store->finish_run(run, rec);
    rec.run.id = run;
    std::fprintf(stderr, "diorace: results stored as run %lld in %s\n", static_cast<long long>(run),
                 store->uri().c_str());
    if (stored_run) *stored_run = run;
  }
  write_outputs({rec}, out);
  return code;
}

}  // namespace

std::unique_ptr<Store> open_store_for_writing(const std::string& requested) {
  const std::string uri = requested.empty() ? Store::default_uri() : requested;
  if (uri == "none") throw UsageError("--store none: there is no store to write to");
  return Store::open(uri);
}

std::unique_ptr<Store> open_store_for_reading(const std::string& requested) {
  std::string uri = requested.empty() ? Store::default_uri() : requested;
  if (uri == "none") throw UsageError("--store none: there is no store to read");
  if (uri.find("://") == std::string::npos && ::access(uri.c_str(), F_OK) != 0)
    throw UsageError("--store " + uri + ": no such store (run something first, or give --store)");
  return Store::open(uri, /*read_only=*/true);
}

int64_t parse_run_id(const std::string& s) {
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used);
    if (used == s.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError("'" + s + "' is not a run id ('diorace results list' shows them)");
}



// Runs named by id, or by kernel (every run of that kernel), or the newest.
std::vector<RunRecord> select_runs(Store& store, const po::variables_map& vm, size_t default_count) {
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
  std::vector<RunRecord> runs;
  for (auto id : ids) runs.push_back(store.load_run(id));
  return runs;
}

void print_run(const RunRecord& run) {
  const auto& r = run.run;
  std::cout << fmt::format("run {}  {}  {}{}  started {}  finished {}  exit {}\n", r.id.value_or(0), r.status, r.mode,
                           r.label.empty() ? "" : " " + r.label, r.started_at,
                           r.finished_at.empty() ? "-" : r.finished_at,
                           run.exit_code ? std::to_string(*run.exit_code) : "-");
  const auto& k = run.system.kernel;
  std::cout << fmt::format("kernel {} ({}) on {}, config digest {}\n", kernel_label(run), k.version, k.host,
                           run.system.kconfig.digest.substr(0, 16));
  if (!run.error.empty()) std::cout << "error: " << run.error << "\n";
  for (CaseResult cr : run.cases) {
    if (cr.verdict == Verdict::incomplete && cr.reason.empty()) cr.reason = "the run ended before this case did";
    std::cout << format_result(cr, 3, 2000);
    // A FAIL names the commits the case declares as its fix: what this kernel lacks.
    if (const CaseInfo* info = Registry::instance().find(cr.name); info && cr.verdict == Verdict::fail)
      for (const auto& f : info->fixed_by)
        std::cout << fmt::format("    fixed upstream by {} (\"{}\")\n", f.hash.substr(0, 12), f.subject);
    // What the kernel package's changelog says of the fix, and a verdict that disagrees with it.
    if (run.vm && !run.vm->deb.empty()) mark_fix_not_needed(cr, run.vm->deb);
    if (!cr.kernel_fix.empty()) std::cout << "    the package " << cr.kernel_fix << "\n";
    if (auto d = fix_disagreement(cr); !d.empty()) std::cout << "    DISAGREES with the package: " << d << "\n";
  }
}

}  // namespace diorace
