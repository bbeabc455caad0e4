// SPDX-License-Identifier: GPL-2.0-or-later
// The result store: runs, case results and their evidence, in SQLite (the
// default, a file) or PostgreSQL (many machines writing to one place).
//
// Crash safety: a run's row is written when it starts and a case's row
// before the case starts, both as INCOMPLETE, each in its own committed
// transaction (SQLite: WAL, synchronous=FULL); they are completed afterwards.
// A run killed with SIGKILL, or a VM whose kernel dies, leaves an INCOMPLETE
// record and every completed case, never a damaged database.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/record.hpp"

namespace diorace {

class Database;  // one connection, dialect hidden (store/db.hpp)

struct RunRow {
  int64_t id = 0;
  std::string started_at, finished_at, status, mode, label, host, kernel_release, kernel_version;
  std::optional<int> exit_code;
  int cases = 0, pass = 0, fail = 0, skip = 0, error = 0, incomplete = 0;
};

class Store {
 public:
  // "none" is not a store; PATH (SQLite) or postgresql://... / postgres://...
  // Creates the database and applies the schema migrations as needed.
  // read_only: for listing and reports; the store is not created, no
  // migration is applied, and a SQLite file that cannot be written is read.
  static std::unique_ptr<Store> open(const std::string& uri, bool read_only = false);
  // The default: $DIORACE_STORE, else results/diorace.sqlite in the source
  // tree this program was built from, else $XDG_DATA_HOME/diorace/diorace.sqlite.
  static std::string default_uri();
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schema_version();
  const std::string& uri() const noexcept { return uri_; }

  // --- writing ---
  // The run as it starts (identity, target, seed; its mode, label and
  // command in rec.run); returns the new run's id.
  int64_t begin_run(const RunRecord& rec);
  // Updates the kernel identity, target and record once known (the VM guest's).
  void update_run(int64_t run, const RunRecord& rec);
  // The run that began with this uid (rec.run.uid), if the store has it.
  std::optional<int64_t> run_with_uid(const std::string& uid);
  int64_t begin_case(int64_t run, const std::string& name, const std::string& variant, const nlohmann::json& params,
                     uint64_t seed);
  void finish_case(int64_t case_id, const CaseResult& r);
  // A whole case at once (VM results arrive after the guest is done).
  int64_t add_case(int64_t run, const CaseResult& r);
  // The run as it ended: rec.run.status is COMPLETE, or REFUSED for a run
  // refused before any case (its command was wrong), ERROR for one that
  // broke before any case (rec.error says why).
  void finish_run(int64_t run, const RunRecord& rec);

  // --- reading ---
  std::vector<RunRow> list_runs(size_t limit = 50);
  // The run, as the run record its run wrote; throws UsageError when there
  // is no such run.
  RunRecord load_run(int64_t run);
  // Ids of runs whose kernel release, version, label or host matches, newest first.
  std::vector<int64_t> runs_matching(const std::string& kernel);
  // Times to detection (first failure plus set-up, from case start, s) of a
  // case's FAILs in VM runs: real detections only (no crash, no injected
  // fault), newest first, at most `limit`.
  std::vector<double> detection_times(const std::string& case_name, size_t limit = 50);
  // A case's results in VM runs of Debian packages: (package, outcome),
  // oldest first.
  std::vector<std::pair<std::string, std::string>> package_outcomes(const std::string& case_name);
  // Removes a run and everything under it (tests, and pruning).
  void delete_run(int64_t run);
  // The newest COMPLETE run before `run` of the same kernel: the same label
  // (a VM run's package or image), or for runs on a host the same host and
  // kernel release. 0 when there is none: the night before, for ci/nightly.
  int64_t previous_run(int64_t run);

  // --- the bisection log ---
  struct BisectRun {
    std::string kernel, verdict;
  };
  // The RUNNING bisection with this key (its logged runs in order), or a new one.
  int64_t open_bisection(const std::string& key, const std::string& case_name, const nlohmann::json& request,
                         bool fresh, std::vector<BisectRun>* logged);
  void log_bisect_run(int64_t bisection, int64_t seq, const std::string& kernel, const std::string& verdict,
                      int64_t run_id);
  void finish_bisection(int64_t bisection, bool found, const nlohmann::json& result);
  nlohmann::json list_bisections(size_t limit = 20);

 private:
  Store(std::string uri, std::unique_ptr<Database> db);
  void migrate();
  std::string uri_;
  std::unique_ptr<Database> db_;
};

// The schema migrations compiled into this program (results/schema/*.sql).
struct Migration {
  int version;
  const char* name;
  const char* sql;
};
const std::vector<Migration>& schema_migrations();

}  // namespace diorace
