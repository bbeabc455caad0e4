// SPDX-License-Identifier: GPL-2.0-or-later
// The one JSON codec of results: evidence, case results and run records.
// The result disk, `--json`, the store and every report use these and no
// other encoding; the field names are the documented run document.
#include <unistd.h>

#include <chrono>

#include <fmt/format.h>

#include "diorace/hash.hpp"
#include "diorace/record.hpp"

namespace diorace {

namespace {

template <class T>
T get_or(const nlohmann::json& j, const char* key, T def) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  return it->get<T>();
}

std::string str(const nlohmann::json& j, const char* key) { return get_or<std::string>(j, key, ""); }

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

CorruptionClass corruption_class_from_string(const std::string& s) {
  for (auto c : {CorruptionClass::fill_byte, CorruptionClass::stale_generation, CorruptionClass::misdirected,
                 CorruptionClass::garbage})
    if (to_string(c) == s) return c;
  throw std::invalid_argument("unknown corruption class '" + s + "'");
}

}  // namespace

// --- the evidence ---

void to_json(nlohmann::json& j, const Corruption& c) {
  j = nlohmann::json{{"file", c.file},
                     {"offset", c.offset},
                     {"length", c.length},
                     {"class", std::string(to_string(c.cls))},
                     {"detail", c.detail},
                     {"context", c.context},
                     {"dump_offset", c.dump_offset},
                     {"expected", c.expected},
                     {"received", c.received}};
}

void from_json(const nlohmann::json& j, Corruption& c) {
  c.file = str(j, "file");
  c.offset = get_or<uint64_t>(j, "offset", 0);
  c.length = get_or<uint64_t>(j, "length", 0);
  c.cls = corruption_class_from_string(get_or<std::string>(j, "class", "garbage"));
  c.detail = str(j, "detail");
  c.context = str(j, "context");
  c.dump_offset = get_or<uint64_t>(j, "dump_offset", 0);
  c.expected = get_or<std::vector<uint8_t>>(j, "expected", {});
  c.received = get_or<std::vector<uint8_t>>(j, "received", {});
}

void to_json(nlohmann::json& j, const Splat& s) {
  j = {{"class", s.cls}, {"title", s.title}, {"text", s.text}, {"count", s.count}, {"unrelated", s.unrelated}};
}

void from_json(const nlohmann::json& j, Splat& s) {
  s.cls = str(j, "class");
  s.title = str(j, "title");
  s.text = str(j, "text");
  s.count = get_or<unsigned>(j, "count", 1);
  s.unrelated = get_or<bool>(j, "unrelated", false);
}

std::string_view event_type(const Event& e) noexcept {
  static constexpr std::string_view names[] = {"corruption", "finding", "splat",   "hang",
                                               "taint",      "crash",   "console", "note"};
  static_assert(std::size(names) == std::variant_size_v<Event>);
  return names[e.index()];
}

std::string evidence_text(const Event& e) {
  return std::visit(overloaded{[](const CorruptionEvent& c) { return c.what.describe(); },
                               [](const FindingEvent& f) { return f.what.text; },
                               [](const KernelReportEvent& k) { return k.what.text; },
                               [](const auto& other) { return other.text; }},
                    e);
}

std::string event_class(const Event& e) {
  if (auto* c = std::get_if<CorruptionEvent>(&e)) return std::string(to_string(c->what.cls));
  if (auto* k = std::get_if<KernelReportEvent>(&e)) return k->what.cls;
  return "";
}

bool is_context(const Event& e) noexcept {
  return std::holds_alternative<NoteEvent>(e) || std::holds_alternative<ConsoleEvent>(e);
}

bool is_unrelated(const Event& e) noexcept {
  auto* k = std::get_if<KernelReportEvent>(&e);
  return k && k->what.unrelated;
}

void to_json(nlohmann::json& j, const Event& e) {
  std::visit(overloaded{[&](const CorruptionEvent& c) {
                          j = c.what;
                          j["iteration"] = c.iteration;
                          j["report"] = c.what.describe();
                        },
                        [&](const FindingEvent& f) {
                          j = f.what;
                          j["iteration"] = f.iteration;
                        },
                        [&](const KernelReportEvent& k) {
                          j = k.what;
                          j["own_race"] = k.own_race;
                        },
                        [&](const HangEvent& h) {
                          j = {{"text", h.text}, {"processes", h.processes}, {"d_state", h.d_state}};
                          if (!h.context.empty()) j["context"] = h.context;
                        },
                        [&](const TaintEvent& t) { j = {{"flags", t.flags}, {"text", t.text}}; },
                        [&](const auto& other) { j = {{"text", other.text}}; }},
             e);
  j["type"] = std::string(event_type(e));
}

void from_json(const nlohmann::json& j, Event& e) {
  const std::string type = str(j, "type");
  if (type == "corruption") {
    e = CorruptionEvent{j.get<Corruption>(), get_or<uint64_t>(j, "iteration", 0)};
  } else if (type == "finding") {
    e = FindingEvent{j.get<Finding>(), get_or<uint64_t>(j, "iteration", 0)};
  } else if (type == "splat") {
    e = KernelReportEvent{j.get<Splat>(), get_or<bool>(j, "own_race", false)};
  } else if (type == "hang") {
    e = HangEvent{str(j, "text"), get_or<nlohmann::json>(j, "processes", nlohmann::json::array()),
                  get_or<bool>(j, "d_state", false), get_or<nlohmann::json>(j, "context", nlohmann::json::object())};
  } else if (type == "taint") {
    e = TaintEvent{str(j, "flags"), str(j, "text")};
  } else if (type == "crash") {
    e = CrashEvent{str(j, "text")};
  } else if (type == "console") {
    e = ConsoleEvent{str(j, "text")};
  } else if (type == "note") {
    e = NoteEvent{str(j, "text")};
  } else {
    throw std::invalid_argument("unknown event type '" + type + "'");
  }
}

// --- a case ---

void to_json(nlohmann::json& j, const CaseResult& r) {
  j = {{"name", r.name},
       {"variant", r.variant},
       {"outcome", std::string(to_string(r.verdict))},
       {"kind", std::string(to_string(r.kind))},
       {"reason", r.reason},
       {"seed", r.seed},
       {"params", r.params},
       {"iterations", r.iterations},
       {"failures", r.failures},
       {"duration_s", r.duration_s},
       {"setup_s", r.setup_s},
       {"forks", r.forks},
       {"ios", r.ios},
       {"detectors_missing", r.detectors_missing},
       {"detectors_armed", r.detectors_missing.empty()},
       {"fault_injected", r.fault_injected},
       {"coverage", r.coverage},
       {"race_hits", r.race_hits},
       {"race_hits_per_iteration",
        r.iterations ? static_cast<double>(r.race_hits) / static_cast<double>(r.iterations) : 0.0},
       {"unrelated_findings", r.unrelated_findings},
       {"started_at", r.started_at},
       {"finished_at", r.finished_at},
       {"events", r.events}};
  if (r.first_failure_s) j["first_failure_s"] = *r.first_failure_s;
  if (!r.kernel_fix_state.empty()) {
    j["kernel_fix_state"] = r.kernel_fix_state;
    j["kernel_fix"] = r.kernel_fix;
  }
}

void from_json(const nlohmann::json& j, CaseResult& r) {
  r.name = j.at("name").get<std::string>();
  r.variant = str(j, "variant");
  r.verdict = verdict_from_string(j.at("outcome").get<std::string>());
  r.kind = fail_kind_from_string(str(j, "kind"));
  r.reason = str(j, "reason");
  r.seed = get_or<uint64_t>(j, "seed", 0);
  r.params = get_or<nlohmann::json>(j, "params", nlohmann::json::object());
  r.iterations = get_or<uint64_t>(j, "iterations", 0);
  r.failures = get_or<uint64_t>(j, "failures", 0);
  r.duration_s = get_or<double>(j, "duration_s", 0.0);
  r.setup_s = get_or<double>(j, "setup_s", 0.0);
  r.first_failure_s.reset();
  if (j.contains("first_failure_s") && j["first_failure_s"].is_number())
    r.first_failure_s = j["first_failure_s"].get<double>();
  r.forks = get_or<uint64_t>(j, "forks", 0);
  r.ios = get_or<uint64_t>(j, "ios", 0);
  r.detectors_missing = get_or<std::vector<std::string>>(j, "detectors_missing", {});
  r.fault_injected = get_or<bool>(j, "fault_injected", false);
  r.coverage = str(j, "coverage");
  r.race_hits = get_or<uint64_t>(j, "race_hits", 0);
  r.unrelated_findings = get_or<uint64_t>(j, "unrelated_findings", 0);
  r.started_at = str(j, "started_at");
  r.finished_at = str(j, "finished_at");
  r.events = get_or<std::vector<Event>>(j, "events", {});
  r.kernel_fix_state = str(j, "kernel_fix_state");
  r.kernel_fix = str(j, "kernel_fix");
}

// --- a run ---

namespace {

nlohmann::json system_json(const SystemIdentity& s) {
  const auto& k = s.kernel;
  return {{"kernel",
           {{"release", k.release},
            {"version", k.version},
            {"machine", k.machine},
            {"host", k.host},
            {"cmdline", k.cmdline}}},
          {"kconfig", {{"source", s.kconfig.source}, {"digest", s.kconfig.digest}, {"detectors", s.kconfig.detectors}}},
          {"diorace_version", s.diorace_version}};
}

SystemIdentity system_from(const nlohmann::json& j) {
  SystemIdentity s;
  const auto k = get_or<nlohmann::json>(j, "kernel", nlohmann::json::object());
  s.kernel = {str(k, "release"), str(k, "version"), str(k, "machine"), str(k, "host"), str(k, "cmdline")};
  const auto c = get_or<nlohmann::json>(j, "kconfig", nlohmann::json::object());
  s.kconfig.source = str(c, "source");
  s.kconfig.digest = str(c, "digest");
  s.kconfig.detectors = get_or<std::map<std::string, std::string>>(c, "detectors", {});
  s.diorace_version = str(j, "diorace_version");
  return s;
}

nlohmann::json vm_json(const VmInfo& v) {
  return {{"image", v.image},   {"deb", v.deb},         {"accel", v.accel},
          {"cpus", v.cpus},     {"mem_mib", v.mem_mib}, {"fs", v.fs},
          {"throttle_bps", v.throttle_bps}, {"wall_s", v.wall_s}, {"console_log", v.console_log},
          {"kconfig", v.kconfig}, {"verdict", v.verdict}, {"timed_out", v.timed_out},
          {"disk_bus", v.disk_bus}, {"guest_device", v.guest_device}};
}

VmInfo vm_from(const nlohmann::json& j) {
  VmInfo v;
  v.image = str(j, "image");
  v.deb = str(j, "deb");
  v.accel = str(j, "accel");
  v.cpus = get_or<unsigned>(j, "cpus", 0);
  v.mem_mib = get_or<unsigned>(j, "mem_mib", 0);
  v.fs = str(j, "fs");
  v.throttle_bps = get_or<uint64_t>(j, "throttle_bps", 0);
  v.wall_s = get_or<double>(j, "wall_s", 0.0);
  v.console_log = str(j, "console_log");
  v.kconfig = str(j, "kconfig");
  v.verdict = str(j, "verdict");
  v.timed_out = get_or<bool>(j, "timed_out", false);
  v.disk_bus = get_or<std::string>(j, "disk_bus", "virtio");
  v.guest_device = str(j, "guest_device");
  return v;
}

nlohmann::json exec_json(const ExecInfo& x) {
  nlohmann::json j = {{"argv", x.argv},
                      {"detect", x.detect},
                      {"detected", x.detect_s.has_value()},
                      {"wall_s", x.wall_s},
                      {"timed_out", x.timed_out},
                      {"background_readers", x.background_readers},
                      {"status", x.status},
                      {"output_tail", x.output_tail}};
  if (x.detect_s) j["detect_s"] = *x.detect_s;
  return j;
}

ExecInfo exec_from(const nlohmann::json& j) {
  ExecInfo x;
  x.argv = get_or<std::vector<std::string>>(j, "argv", {});
  x.detect = str(j, "detect");
  if (j.contains("detect_s") && j["detect_s"].is_number()) x.detect_s = j["detect_s"].get<double>();
  x.wall_s = get_or<double>(j, "wall_s", 0.0);
  x.timed_out = get_or<bool>(j, "timed_out", false);
  x.background_readers = get_or<unsigned>(j, "background_readers", 0);
  x.status = get_or<int>(j, "status", -1);
  x.output_tail = str(j, "output_tail");
  return x;
}

}  // namespace

nlohmann::json run_header_json(const RunRecord& r) {
  nlohmann::json j;
  nlohmann::json run = {{"uid", r.run.uid},         {"started_at", r.run.started_at}, {"finished_at", r.run.finished_at},
                        {"status", r.run.status},   {"mode", r.run.mode},             {"label", r.run.label},
                        {"command", r.run.command}};
  if (r.run.id) run["id"] = *r.run.id;
  const auto& t = r.target;
  j = {{"run", run},
       {"guest_started", r.guest_started},
       {"complete", r.complete},
       {"system", system_json(r.system)},
       {"target",
        {{"kind", t.kind},
         {"dir", t.dir},
         {"fs", t.fs},
         {"scratch", t.scratch},
         {"device", t.device},
         {"device_info", t.device_info},
         {"scratch_device", t.scratch_device}}},
       {"fault_injected", r.fault_injected}};
  if (r.seed) j["seed"] = *r.seed;
  if (r.exit_code) j["exit_code"] = *r.exit_code;
  if (!r.running.empty()) j["running"] = r.running;
  if (!r.error.empty()) j["error"] = r.error;
  if (r.vm) j["vm"] = vm_json(*r.vm);
  if (r.exec) j["exec"] = exec_json(*r.exec);
  return j;
}

void to_json(nlohmann::json& j, const RunRecord& r) {
  j = run_header_json(r);
  j["cases"] = r.cases;
}

void from_json(const nlohmann::json& j, RunRecord& r) {
  if (!j.is_object()) throw std::invalid_argument("a run record is a JSON object");
  r = RunRecord{};
  const auto run = get_or<nlohmann::json>(j, "run", nlohmann::json::object());
  if (run.contains("id") && run["id"].is_number_integer()) r.run.id = run["id"].get<int64_t>();
  r.run.uid = str(run, "uid");
  r.run.started_at = str(run, "started_at");
  r.run.finished_at = str(run, "finished_at");
  r.run.status = get_or<std::string>(run, "status", "INCOMPLETE");
  r.run.mode = get_or<std::string>(run, "mode", "host");
  r.run.label = str(run, "label");
  r.run.command = str(run, "command");
  r.guest_started = get_or<bool>(j, "guest_started", false);
  r.complete = get_or<bool>(j, "complete", false);
  if (j.contains("exit_code") && j["exit_code"].is_number_integer()) r.exit_code = j["exit_code"].get<int>();
  r.running = str(j, "running");
  r.error = str(j, "error");
  r.system = system_from(get_or<nlohmann::json>(j, "system", nlohmann::json::object()));
  const auto t = get_or<nlohmann::json>(j, "target", nlohmann::json::object());
  r.target.kind = str(t, "kind");
  r.target.dir = str(t, "dir");
  r.target.fs = str(t, "fs");
  r.target.scratch = get_or<bool>(t, "scratch", false);
  r.target.device = str(t, "device");
  r.target.device_info = get_or<nlohmann::json>(t, "device_info", nlohmann::json::object());
  r.target.scratch_device = str(t, "scratch_device");
  if (j.contains("seed") && j["seed"].is_number_unsigned()) r.seed = j["seed"].get<uint64_t>();
  r.fault_injected = get_or<bool>(j, "fault_injected", false);
  r.cases = get_or<std::vector<CaseResult>>(j, "cases", {});
  if (j.contains("vm") && j["vm"].is_object()) r.vm = vm_from(j["vm"]);
  if (j.contains("exec") && j["exec"].is_object()) r.exec = exec_from(j["exec"]);
}

std::string new_run_uid() {
  char host[256] = {};
  (void)::gethostname(host, sizeof host - 1);
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  const auto mono = std::chrono::steady_clock::now().time_since_epoch().count();
  return stable_hash_hex(fmt::format("{}/{}/{}/{}", host, now, mono, ::getpid()));
}

}  // namespace diorace
