// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/runner.hpp"
#include "schema_sql.hpp"  // generated from results/schema/*.sql
#include "store/db.hpp"

namespace diorace {

namespace {

using Value = Database::Value;

std::string text(const std::optional<std::string>& v) { return v.value_or(""); }
int64_t integer(const std::optional<std::string>& v) { return v ? std::stoll(*v) : 0; }
double real(const std::optional<std::string>& v) { return v ? std::stod(*v) : 0.0; }

std::string dialect_sql(const std::string& sql, const std::string& dialect) {
  std::string out = sql;
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t p = 0; (p = out.find(from, p)) != std::string::npos; p += to.size()) out.replace(p, from.size(), to);
  };
  if (dialect == "postgresql") {
    replace_all("%ID%", "BIGSERIAL PRIMARY KEY");
    replace_all("%REAL%", "DOUBLE PRECISION");
  } else {
    replace_all("%ID%", "INTEGER PRIMARY KEY AUTOINCREMENT");
    replace_all("%REAL%", "REAL");
  }
  return out;
}

bool is_postgres_uri(const std::string& uri) {
  return uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0;
}

// The run's record without its cases (they have rows of their own), encoded once.
nlohmann::json stored_header(const RunRecord& rec) {
  nlohmann::json j = run_header_json(rec);
  j["run"].erase("id");
  return j;
}

// The columns of a run that its record decides, and the record.
void write_run_columns(Database& db, int64_t run, const RunRecord& rec, const nlohmann::json& header) {
  const auto& k = rec.system.kernel;
  const auto& t = rec.target;
  db.query(
      "UPDATE runs SET host=$1, kernel_release=$2, kernel_version=$3, kernel_cmdline=$4, kconfig_digest=$5, "
      "detectors=$6, target_kind=$7, target_path=$8, target_fs=$9, target_device=$10, seed=$11, "
      "diorace_version=$12, record=$13 WHERE id=$14",
      {k.host, k.release, k.version, k.cmdline, rec.system.kconfig.digest, header["system"]["kconfig"]["detectors"].dump(),
       t.kind, t.dir, t.fs, t.device, rec.seed ? std::to_string(*rec.seed) : std::string(), rec.system.diorace_version,
       header.dump(), run});
}

}  // namespace

const std::vector<Migration>& schema_migrations() {
  static const std::vector<Migration> m(std::begin(kSchemaMigrations), std::end(kSchemaMigrations));
  return m;
}

std::string Store::default_uri() {
  if (const char* env = std::getenv("DIORACE_STORE")) {
    if (!*env)
      throw UsageError("DIORACE_STORE is set but empty: unset it for the default store, or name one (or none)");
    return env;
  }
#if defined(DIORACE_SOURCE_DIR) && defined(DIORACE_BINARY_DIR)
  {
    // A program run from its build tree keeps results in the source tree's
    // results/; an installed copy never looks there.
    std::error_code ec;
    const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    std::filesystem::path results = std::filesystem::path(DIORACE_SOURCE_DIR) / "results";
    if (!ec && self.rfind(std::string(DIORACE_BINARY_DIR) + "/", 0) == 0 &&
        std::filesystem::is_directory(results, ec) && ::access(results.c_str(), W_OK) == 0)
      return (results / "diorace.sqlite").string();
  }
#endif
  std::string base;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
    base = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    base = std::string(h) + "/.local/share";
  else
    base = "/var/tmp";
  return base + "/diorace/diorace.sqlite";
}

std::unique_ptr<Store> Store::open(const std::string& uri, bool read_only) {
  if (uri.empty() || uri == "none") throw UsageError("--store: no store given");
  std::unique_ptr<Database> db;
  if (is_postgres_uri(uri)) {
    db = open_postgresql(uri);
  } else if (auto scheme = uri.find("://"); scheme != std::string::npos) {
    throw UsageError("--store " + uri + ": unsupported store '" + uri.substr(0, scheme + 3) +
                     "' (a SQLite file path, postgresql://... or none)");
  } else {
    std::filesystem::path p(uri);
    std::error_code ec;
    if (p.has_parent_path() && !std::filesystem::is_directory(p.parent_path(), ec)) {
      // Only the default location is created; a user's typo is an error.
      if (uri != default_uri() || !std::filesystem::create_directories(p.parent_path(), ec))
        throw UsageError("--store " + uri + ": directory " + p.parent_path().string() + " does not exist");
    }
    if (std::filesystem::is_directory(p, ec)) throw UsageError("--store " + uri + ": is a directory");
    struct stat st{};
    if (::stat(uri.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      throw UsageError("--store " + uri + ": not a regular file (a SQLite store is a file)");
    try {
      db = open_sqlite(uri, read_only && ::access(uri.c_str(), W_OK) != 0);
    } catch (const SetupError&) {
      // Reading only: a writable file in a directory that cannot take its
      // journal (read-only, immutable) is still read.
      if (!read_only) throw;
      db = open_sqlite(uri, true);
    }
  }
  std::unique_ptr<Store> s(new Store(uri, std::move(db)));
  if (!read_only) {
    s->migrate();
  } else {
    int have = 0;
    try {
      have = s->schema_version();
    } catch (const std::exception&) {
    }
    const int newest = schema_migrations().empty() ? 0 : schema_migrations().back().version;
    if (have != newest) {
      try {
        s->migrate();
      } catch (const std::exception& e) {
        throw SetupError(fmt::format("store {}: schema version {} needs migrating to {}, and the store cannot be "
                                     "written ({})",
                                     uri, have, newest, e.what()));
      }
    }
  }
  return s;
}

Store::Store(std::string uri, std::unique_ptr<Database> db) : uri_(std::move(uri)), db_(std::move(db)) {}
Store::~Store() = default;

int Store::schema_version() {
  auto rows = db_->query("SELECT MAX(version) FROM schema_version");
  return rows.empty() || !rows[0][0] ? 0 : static_cast<int>(integer(rows[0][0]));
}

void Store::migrate() {
  const int newest = schema_migrations().empty() ? 0 : schema_migrations().back().version;
  try {
    if (schema_version() >= newest) return;  // the common case: nothing to do, no lock taken
  } catch (const std::exception&) {
    // no schema_version table yet
  }
  // Under the lock, so that processes opening a new database at once (a
  // fleet's first night) create the schema exactly once.
  Transaction tx(*db_);
  db_->lock_schema();
  db_->exec_script("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)");
  int have = schema_version();
  if (have > newest)
    throw SetupError(fmt::format("store {}: schema version {} is newer than this diorace ({})", uri_, have, newest));
  for (const auto& m : schema_migrations()) {
    if (m.version <= have) continue;
    db_->exec_script(dialect_sql(m.sql, db_->dialect()));
    db_->query("INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
               {Value{int64_t{m.version}}, Value{utc_timestamp()}});
  }
  tx.commit();
}

int64_t Store::begin_run(const RunRecord& rec) {
  Transaction tx(*db_);
  auto rows = db_->query(
      "INSERT INTO runs (started_at, status, mode, label, command, diorace_version, fault_injected, seed, uid) "
      "VALUES ($1, 'INCOMPLETE', $2, $3, $4, $5, $6, $7, $8) RETURNING id",
      {rec.run.started_at.empty() ? utc_timestamp() : rec.run.started_at, rec.run.mode, rec.run.label,
       rec.run.command, rec.system.diorace_version, int64_t{rec.fault_injected ? 1 : 0},
       rec.seed ? std::to_string(*rec.seed) : std::string(), rec.run.uid});
  int64_t id = integer(rows.at(0).at(0));
  tx.commit();
  update_run(id, rec);
  return id;
}

std::optional<int64_t> Store::run_with_uid(const std::string& uid) {
  if (uid.empty()) return std::nullopt;
  auto rows = db_->query("SELECT id FROM runs WHERE uid=$1 ORDER BY id LIMIT 1", {uid});
  if (rows.empty()) return std::nullopt;
  return integer(rows.at(0).at(0));
}

void Store::update_run(int64_t run, const RunRecord& rec) {
  Transaction tx(*db_);
  write_run_columns(*db_, run, rec, stored_header(rec));
  tx.commit();
}

int64_t Store::begin_case(int64_t run, const std::string& name, const std::string& variant,
                          const nlohmann::json& params, uint64_t seed) {
  Transaction tx(*db_);
  auto rows = db_->query(
      "INSERT INTO case_results (run_id, name, variant, outcome, params, seed, started_at) "
      "VALUES ($1, $2, $3, 'INCOMPLETE', $4, $5, $6) RETURNING id",
      {run, name, variant, params.dump(), std::to_string(seed), utc_timestamp()});
  int64_t id = integer(rows.at(0).at(0));
  tx.commit();
  return id;
}

void Store::finish_case(int64_t case_id, const CaseResult& r) {
  // Encoded once: the events go to rows of their own, the rest is the
  // case's record.
  nlohmann::json record = r;
  nlohmann::json events = std::move(record["events"]);
  record.erase("events");
  Transaction tx(*db_);
  nlohmann::json missing = r.detectors_missing;
  double rate = r.iterations ? static_cast<double>(r.failures) / static_cast<double>(r.iterations) : 0.0;
  db_->query(
      "UPDATE case_results SET outcome=$1, kind=$2, reason=$3, params=$4, seed=$5, iterations=$6, failures=$7, "
      "failure_rate=$8, duration_s=$9, first_failure_s=$10, forks=$11, ios=$12, detectors_armed=$13, "
      "detectors_missing=$14, coverage=$15, race_hits=$16, unrelated_findings=$17, fault_injected=$18, "
      "finished_at=$19, record=$20 WHERE id=$21",
      {std::string(to_string(r.verdict)), r.kind == FailKind::none ? std::string() : std::string(to_string(r.kind)),
       r.reason, r.params.dump(), std::to_string(r.seed), static_cast<int64_t>(r.iterations),
       static_cast<int64_t>(r.failures), rate, r.duration_s,
       r.first_failure_s ? Value{*r.first_failure_s} : Value{}, static_cast<int64_t>(r.forks),
       static_cast<int64_t>(r.ios), int64_t{r.detectors_missing.empty() ? 1 : 0}, missing.dump(), r.coverage,
       static_cast<int64_t>(r.race_hits), static_cast<int64_t>(r.unrelated_findings),
       int64_t{r.fault_injected ? 1 : 0}, r.finished_at.empty() ? utc_timestamp() : r.finished_at,
       record.dump(), case_id});
  db_->query("DELETE FROM events WHERE case_id=$1", {case_id});
  for (size_t i = 0; i < r.events.size(); ++i) {
    const Event& ev = r.events[i];
    db_->query("INSERT INTO events (case_id, seq, type, class, text, data) VALUES ($1, $2, $3, $4, $5, $6)",
               {case_id, static_cast<int64_t>(i), std::string(event_type(ev)), event_class(ev), evidence_text(ev),
                events.at(i).dump()});
  }
  tx.commit();
}

int64_t Store::add_case(int64_t run, const CaseResult& r) {
  int64_t id = begin_case(run, r.name, r.variant, r.params, r.seed);
  finish_case(id, r);
  return id;
}

void Store::finish_run(int64_t run, const RunRecord& rec) {
  const nlohmann::json header = stored_header(rec);
  Transaction tx(*db_);
  db_->query("UPDATE runs SET status=$1, exit_code=$2, finished_at=$3, vm=$4 WHERE id=$5",
             {rec.run.status, rec.exit_code ? Value{int64_t{*rec.exit_code}} : Value{},
              rec.run.finished_at.empty() ? utc_timestamp() : rec.run.finished_at,
              header.contains("vm") ? header["vm"].dump() : std::string("{}"), run});
  write_run_columns(*db_, run, rec, header);
  tx.commit();
}

std::vector<RunRow> Store::list_runs(size_t limit) {
  auto rows = db_->query(
      "SELECT r.id, r.started_at, r.finished_at, r.status, r.exit_code, r.mode, r.label, r.host, r.kernel_release, "
      "r.kernel_version, "
      "(SELECT COUNT(*) FROM case_results c WHERE c.run_id=r.id), "
      "(SELECT COUNT(*) FROM case_results c WHERE c.run_id=r.id AND c.outcome='PASS'), "
      "(SELECT COUNT(*) FROM case_results c WHERE c.run_id=r.id AND c.outcome='FAIL'), "
      "(SELECT COUNT(*) FROM case_results c WHERE c.run_id=r.id AND c.outcome='SKIP'), "
      "(SELECT COUNT(*) FROM case_results c WHERE c.run_id=r.id AND c.outcome='ERROR'), "
      "(SELECT COUNT(*) FROM case_results c WHERE c.run_id=r.id AND c.outcome='INCOMPLETE') "
      "FROM runs r ORDER BY r.id DESC LIMIT $1",
      {static_cast<int64_t>(limit)});
  std::vector<RunRow> out;
  for (const auto& row : rows) {
    RunRow r;
    r.id = integer(row[0]);
    r.started_at = text(row[1]);
    r.finished_at = text(row[2]);
    r.status = text(row[3]);
    if (row[4]) r.exit_code = static_cast<int>(integer(row[4]));
    r.mode = text(row[5]);
    r.label = text(row[6]);
    r.host = text(row[7]);
    r.kernel_release = text(row[8]);
    r.kernel_version = text(row[9]);
    r.cases = static_cast<int>(integer(row[10]));
    r.pass = static_cast<int>(integer(row[11]));
    r.fail = static_cast<int>(integer(row[12]));
    r.skip = static_cast<int>(integer(row[13]));
    r.error = static_cast<int>(integer(row[14]));
    r.incomplete = static_cast<int>(integer(row[15]));
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// A run row from before schema version 3 (no record): its columns.
RunRecord run_from_columns(const Database::Row& r) {
  RunRecord rec;
  rec.system.kernel = {text(r[8]), text(r[9]), "", text(r[7]), text(r[10])};
  rec.system.kconfig.digest = text(r[11]);
  nlohmann::json det = nlohmann::json::parse(text(r[12]).empty() ? "{}" : text(r[12]));
  for (auto& [k, v] : det.items())
    if (v.is_string()) rec.system.kconfig.detectors[k] = v.get<std::string>();
  rec.system.diorace_version = text(r[13]);
  rec.target.kind = text(r[14]);
  rec.target.dir = text(r[15]);
  rec.target.fs = text(r[16]);
  rec.target.device = text(r[17]);
  if (!text(r[18]).empty()) rec.seed = std::stoull(text(r[18]));
  rec.fault_injected = integer(r[19]) != 0;
  nlohmann::json vm = nlohmann::json::parse(text(r[21]).empty() ? "{}" : text(r[21]));
  if (!vm.empty()) rec.vm = nlohmann::json{{"vm", vm}}.get<RunRecord>().vm;
  return rec;
}

// A case row from before schema version 3, or one that never finished.
CaseResult case_from_columns(const Database::Row& c) {
  CaseResult r;
  r.name = text(c[1]);
  r.variant = text(c[2]);
  r.verdict = verdict_from_string(text(c[3]));
  r.kind = fail_kind_from_string(text(c[4]));
  r.reason = text(c[5]);
  r.params = nlohmann::json::parse(text(c[6]).empty() ? "{}" : text(c[6]));
  r.seed = std::stoull(text(c[7]).empty() ? "0" : text(c[7]));
  r.iterations = static_cast<uint64_t>(integer(c[8]));
  r.failures = static_cast<uint64_t>(integer(c[9]));
  r.duration_s = real(c[10]);
  if (c[11]) r.first_failure_s = real(c[11]);
  r.forks = static_cast<uint64_t>(integer(c[12]));
  r.ios = static_cast<uint64_t>(integer(c[13]));
  r.detectors_missing =
      nlohmann::json::parse(text(c[14]).empty() ? "[]" : text(c[14])).get<std::vector<std::string>>();
  r.coverage = text(c[15]);
  r.race_hits = static_cast<uint64_t>(integer(c[16]));
  r.unrelated_findings = static_cast<uint64_t>(integer(c[17]));
  r.fault_injected = integer(c[18]) != 0;
  r.started_at = text(c[19]);
  r.finished_at = text(c[20]);
  return r;
}

}  // namespace

RunRecord Store::load_run(int64_t run) {
  auto rr = db_->query(
      "SELECT id, started_at, finished_at, status, exit_code, mode, label, host, kernel_release, kernel_version, "
      "kernel_cmdline, kconfig_digest, detectors, diorace_version, target_kind, target_path, target_fs, "
      "target_device, seed, fault_injected, command, vm, record FROM runs WHERE id=$1",
      {run});
  if (rr.empty()) throw UsageError(fmt::format("no run {} in the store {}", run, uri_));
  const auto& r = rr[0];
  RunRecord rec = text(r[22]).empty() ? run_from_columns(r) : nlohmann::json::parse(text(r[22])).get<RunRecord>();
  // What the store alone knows: its id, and how the run ended (a killed
  // run's record was last written when it started).
  rec.run.id = integer(r[0]);
  rec.run.started_at = text(r[1]);
  rec.run.finished_at = text(r[2]);
  rec.run.status = text(r[3]);
  rec.run.mode = text(r[5]);
  rec.run.label = text(r[6]);
  rec.run.command = text(r[20]);
  rec.exit_code.reset();
  if (r[4]) rec.exit_code = static_cast<int>(integer(r[4]));
  rec.complete = rec.run.status == "COMPLETE";
  auto cases = db_->query(
      "SELECT id, name, variant, outcome, kind, reason, params, seed, iterations, failures, duration_s, "
      "first_failure_s, forks, ios, detectors_missing, coverage, race_hits, unrelated_findings, fault_injected, "
      "started_at, finished_at, record FROM case_results WHERE run_id=$1 ORDER BY id",
      {run});
  rec.cases.clear();
  for (const auto& c : cases) {
    // The record holds the case but its events (records written before
    // older versions held them too); the events are rows of their own.
    const nlohmann::json record = text(c[21]).empty() ? nlohmann::json() : nlohmann::json::parse(text(c[21]));
    CaseResult cr = record.is_null() ? case_from_columns(c) : record.get<CaseResult>();
    if (!record.contains("events"))
      for (const auto& e : db_->query("SELECT data FROM events WHERE case_id=$1 ORDER BY seq", {integer(c[0])}))
        cr.events.push_back(nlohmann::json::parse(text(e[0]).empty() ? "{}" : text(e[0])).get<Event>());
    rec.cases.push_back(std::move(cr));
  }
  return rec;
}

std::vector<int64_t> Store::runs_matching(const std::string& kernel) {
  std::vector<int64_t> ids;
  for (const auto& row : db_->query("SELECT id FROM runs WHERE kernel_release=$1 OR kernel_version=$1 OR label=$1 "
                                    "OR host=$1 ORDER BY id DESC",
                                    {kernel}))
    ids.push_back(integer(row[0]));
  return ids;
}

std::vector<double> Store::detection_times(const std::string& case_name, size_t limit) {
  std::vector<double> out;
  for (const auto& row : db_->query(
           "SELECT c.first_failure_s, c.record FROM case_results c JOIN runs r ON r.id=c.run_id WHERE c.name=$1 "
           "AND c.outcome='FAIL' AND c.kind<>'crash' AND c.fault_injected=0 AND c.first_failure_s IS NOT NULL "
           "AND r.mode='vm' ORDER BY c.id DESC LIMIT $2",
           {case_name, static_cast<int64_t>(limit)})) {
    double setup = 0;
    try {
      setup = nlohmann::json::parse(row[1].value_or("{}")).value("setup_s", 0.0);
    } catch (const nlohmann::json::exception&) {
    }
    out.push_back(std::stod(row[0].value_or("0")) + setup);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Store::package_outcomes(const std::string& case_name) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& row : db_->query("SELECT r.label, c.outcome FROM case_results c JOIN runs r ON r.id=c.run_id "
                                    "WHERE c.name=$1 AND r.mode='vm' AND r.label LIKE 'linux-image-%' ORDER BY c.id",
                                    {case_name}))
    out.emplace_back(row[0].value_or(""), row[1].value_or(""));
  return out;
}

void Store::delete_run(int64_t run) {
  Transaction tx(*db_);
  db_->query("DELETE FROM events WHERE case_id IN (SELECT id FROM case_results WHERE run_id=$1)", {run});
  db_->query("DELETE FROM case_results WHERE run_id=$1", {run});
  db_->query("DELETE FROM runs WHERE id=$1", {run});
  tx.commit();
}

int64_t Store::previous_run(int64_t run) {
  auto rows = db_->query(
      "SELECT MAX(p.id) FROM runs p JOIN runs r ON r.id=$1 WHERE p.id < r.id AND p.status='COMPLETE' "
      "AND p.mode=r.mode AND ((r.label <> '' AND p.label=r.label) OR "
      "(r.label = '' AND p.host=r.host AND p.kernel_release=r.kernel_release))",
      {run});
  return rows.empty() ? 0 : integer(rows[0][0]);
}

int64_t Store::open_bisection(const std::string& key, const std::string& case_name, const nlohmann::json& request,
                              bool fresh, std::vector<BisectRun>* logged) {
  Transaction tx(*db_);
  if (fresh)
    db_->query("UPDATE bisections SET status='ABANDONED', finished_at=$1 WHERE request_key=$2 AND status='RUNNING'",
               {utc_timestamp(), key});
  auto rows = db_->query("SELECT MAX(id) FROM bisections WHERE request_key=$1 AND status='RUNNING'", {key});
  int64_t id = rows.empty() ? 0 : integer(rows[0][0]);
  if (id == 0) {
    id = integer(db_->query("INSERT INTO bisections (request_key, case_name, request, status, started_at) "
                            "VALUES ($1, $2, $3, 'RUNNING', $4) RETURNING id",
                            {key, case_name, request.dump(), utc_timestamp()})
                     .at(0)
                     .at(0));
  } else if (logged) {
    for (const auto& r :
         db_->query("SELECT kernel, verdict FROM bisect_runs WHERE bisection_id=$1 ORDER BY seq", {id}))
      logged->push_back({text(r[0]), text(r[1])});
  }
  tx.commit();
  return id;
}

void Store::log_bisect_run(int64_t bisection, int64_t seq, const std::string& kernel, const std::string& verdict,
                           int64_t run_id) {
  Transaction tx(*db_);
  db_->query("INSERT INTO bisect_runs (bisection_id, seq, kernel, verdict, run_id, at) VALUES ($1, $2, $3, $4, $5, $6)",
             {bisection, seq, kernel, verdict, run_id ? Value{run_id} : Value{}, utc_timestamp()});
  tx.commit();
}

void Store::finish_bisection(int64_t bisection, bool found, const nlohmann::json& result) {
  Transaction tx(*db_);
  db_->query("UPDATE bisections SET status=$1, finished_at=$2, result=$3 WHERE id=$4",
             {std::string(found ? "DONE" : "FAILED"), utc_timestamp(), result.dump(), bisection});
  tx.commit();
}

nlohmann::json Store::list_bisections(size_t limit) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : db_->query("SELECT b.id, b.case_name, b.status, b.started_at, b.finished_at, b.result, "
                                  "(SELECT COUNT(*) FROM bisect_runs x WHERE x.bisection_id=b.id) "
                                  "FROM bisections b ORDER BY b.id DESC LIMIT $1",
                                  {static_cast<int64_t>(limit)}))
    out.push_back({{"id", integer(r[0])}, {"case", text(r[1])}, {"status", text(r[2])}, {"started_at", text(r[3])},
                   {"finished_at", text(r[4])}, {"result", nlohmann::json::parse(text(r[5]).empty() ? "{}" : text(r[5]))},
                   {"runs", integer(r[6])}});
  return out;
}

}  // namespace diorace
