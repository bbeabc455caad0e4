// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/report.hpp"
#include "diorace/outfile.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/hash.hpp"
#include "diorace/runner.hpp"
#include "diorace/store.hpp"

namespace diorace {

namespace {

// The evidence of a case as plain text, bounded.
std::string evidence(const CaseResult& c, size_t limit = 16000) {
  std::string out;
  for (const auto& ev : c.events) {
    std::string body = evidence_text(ev);
    if (body.empty()) continue;
    std::string type(event_type(ev));
    if (is_unrelated(ev)) type += " (unrelated finding)";
    out += "[" + type + "] " + body + "\n";
    if (out.size() > limit) {
      out.resize(limit);
      out += "\n...";
      break;
    }
  }
  return out;
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// KCIDB id parts: a safe, stable text.
std::string id_part(const std::string& s) {
  std::string out;
  for (char ch : s) out.push_back(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ? ch : '_');
  return out;
}

std::string test_path_part(const std::string& s) {
  std::string out;
  for (char ch : s) out.push_back(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ? ch : '_');
  return out.empty() ? "_" : out;
}

bool detectors_armed(const CaseResult& c) { return c.detectors_missing.empty(); }

std::string outcome_of(const CaseResult& c) { return std::string(to_string(c.verdict)); }

}  // namespace

std::string kernel_label(const RunRecord& run) {
  std::string rel = run.system.kernel.release;
  std::string label = run.run.label;
  if (label.empty() && run.vm) label = run.vm->deb;
  if (rel.empty()) rel = label.empty() ? "unknown kernel" : label;
  return rel;
}

KernelName parse_kernel_name(const std::string& release_or_package, const std::string& uname_version) {
  KernelName k;
  std::string n = release_or_package;
  if (n.rfind("linux-image-", 0) == 0) n = n.substr(12);
  for (const char* suffix : {"-unsigned", "-dbg"})
    if (n.size() > std::strlen(suffix) && n.compare(n.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
      n.resize(n.size() - std::strlen(suffix));
  k.name = n;
  // The version: leading numbers separated by '.', '-' or '+debNN' (a Debian
  // stable update); the flavour: what follows.
  static const std::regex ver(R"(^(\d+(?:\.\d+)*)(?:-(\d+))?(?:\+deb\d+(?:u\d+)?)?(?:-(.*))?$)");
  std::smatch m;
  if (std::regex_match(n, m, ver)) {
    std::string v = m[1];
    for (size_t s = 0; s <= v.size();) {
      size_t e = v.find('.', s);
      if (e == std::string::npos) e = v.size();
      k.version.push_back(std::stol(v.substr(s, e - s)));
      s = e + 1;
    }
    if (m[2].matched) k.version.push_back(std::stol(m[2]));
    if (m[3].matched) k.flavour = m[3];
  }
  static const std::regex debian(R"(Debian (\d+\.\d+\.\d+))");
  if (std::regex_search(uname_version, m, debian)) k.upstream = m[1];
  return k;
}

bool kernel_before(const KernelName& a, const KernelName& b) {
  if (a.flavour != b.flavour) {
    if (a.flavour.empty() || b.flavour.empty()) return !a.flavour.empty();
    return a.flavour < b.flavour;
  }
  if (a.version != b.version) return a.version < b.version;
  return a.name < b.name;
}

std::string case_key(const CaseResult& c) { return c.variant.empty() ? c.name : c.name + "[" + c.variant + "]"; }

void validate_outputs(const OutputOptions& o, const NamedFiles& more_outputs, const NamedFiles& inputs) {
  NamedFiles outputs = more_outputs;
  for (auto [opt, path] : {std::pair{"--junit", &o.junit}, {"--ktap", &o.ktap}, {"--kcidb", &o.kcidb},
                           {"--jsonl", &o.jsonl}, {"--html", &o.html}}) {
    if (!path->empty()) check_output_path(*path, opt);
    outputs.emplace_back(opt, *path);
  }
  NamedFiles ins = inputs;
  const std::string store = o.store.empty() ? Store::default_uri() : o.store;
  ins.emplace_back(o.store.empty() ? "the default store" : "--store", store);
  check_distinct_files(outputs, ins);
  static const std::regex origin_re("^[a-z0-9_]+$");
  if (!std::regex_match(o.origin, origin_re))
    throw UsageError("--origin '" + o.origin + "': a KCIDB origin is lower-case letters, digits and '_'");
}

// --- JUnit ---
std::string to_junit(const std::vector<RunRecord>& runs) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto suites = doc.append_child("testsuites");
  suites.append_attribute("name") = "diorace";
  int t_all = 0, f_all = 0, e_all = 0, s_all = 0;
  double time_all = 0;
  for (const auto& run : runs) {
    auto suite = suites.append_child("testsuite");
    std::string kernel = kernel_label(run);
    suite.append_attribute("name") = ("diorace on " + kernel).c_str();
    int tests = 0, failures = 0, errors = 0, skipped = 0;
    double time = 0;
    const std::string& ts = run.run.started_at;
    if (!ts.empty()) suite.append_attribute("timestamp") = ts.substr(0, 19).c_str();
    suite.append_attribute("hostname") = run.system.kernel.host.c_str();
    auto props = suite.append_child("properties");
    auto prop = [&](const char* k, const std::string& v) {
      auto p = props.append_child("property");
      p.append_attribute("name") = k;
      p.append_attribute("value") = v.c_str();
    };
    prop("kernel.release", run.system.kernel.release);
    prop("kernel.version", run.system.kernel.version);
    prop("kconfig.digest", run.system.kconfig.digest);
    prop("diorace.version", run.system.diorace_version);
    if (run.vm) prop("vm.image", run.vm->image);
    for (const auto& c : run.cases) {
      auto tc = suite.append_child("testcase");
      tc.append_attribute("name") = case_key(c).c_str();
      tc.append_attribute("classname") = ("diorace." + id_part(kernel)).c_str();
      tc.append_attribute("time") = fmt::format("{:.3f}", c.duration_s).c_str();
      time += c.duration_s;
      ++tests;
      std::string outcome = outcome_of(c), reason = c.reason;
      if (!detectors_armed(c)) reason += (reason.empty() ? "" : "; ") + std::string("ran WITHOUT its race detector");
      if (c.verdict == Verdict::fail) {
        ++failures;
        auto f = tc.append_child("failure");
        f.append_attribute("message") = one_line(reason).c_str();
        f.append_attribute("type") = c.kind == FailKind::none ? "fail" : std::string(to_string(c.kind)).c_str();
        f.append_child(pugi::node_pcdata).set_value(evidence(c).c_str());
      } else if (c.verdict == Verdict::skip) {
        ++skipped;
        tc.append_child("skipped").append_attribute("message") = one_line(reason).c_str();
      } else if (c.verdict != Verdict::pass) {
        ++errors;
        auto e = tc.append_child("error");
        e.append_attribute("message") = (outcome + ": " + one_line(reason)).c_str();
        e.append_attribute("type") = outcome.c_str();
        e.append_child(pugi::node_pcdata).set_value(evidence(c).c_str());
      }
      auto out = tc.append_child("system-out");
      out.append_child(pugi::node_pcdata).set_value(
          fmt::format("{} iterations, {} failures, {} forks, {} I/Os, seed {}, detectors armed: {}{}", c.iterations,
                      c.failures, c.forks, c.ios, c.seed,
                      detectors_armed(c) ? "yes" : "NO (ran WITHOUT its race detector)",
                      c.coverage == "measured" ? fmt::format(", race hits {}", c.race_hits) : "")
              .c_str());
    }
    suite.append_attribute("tests") = tests;
    suite.append_attribute("failures") = failures;
    suite.append_attribute("errors") = errors;
    suite.append_attribute("skipped") = skipped;
    suite.append_attribute("time") = fmt::format("{:.3f}", time).c_str();
    t_all += tests, f_all += failures, e_all += errors, s_all += skipped, time_all += time;
  }
  suites.append_attribute("tests") = t_all;
  suites.append_attribute("failures") = f_all;
  suites.append_attribute("errors") = e_all;
  suites.append_attribute("skipped") = s_all;
  suites.append_attribute("time") = fmt::format("{:.3f}", time_all).c_str();
  std::ostringstream os;
  doc.save(os, "  ");
  return os.str();
}

// --- KTAP: TAP version 13 as kselftest prints it, one line per case ---
std::string to_ktap(const std::vector<RunRecord>& runs) {
  std::ostringstream os;
  size_t n = 0;
  for (const auto& run : runs) n += run.cases.size();
  os << "TAP version 13\n1.." << n << "\n";
  size_t i = 0;
  for (const auto& run : runs) {
    os << "# diorace " << run.system.diorace_version << " on " << kernel_label(run) << " ("
       << run.system.kernel.version << ")\n";
    for (const auto& c : run.cases) {
      ++i;
      std::string outcome = outcome_of(c), reason = one_line(c.reason);
      std::string name = "diorace: " + case_key(c);
      if (runs.size() > 1) name += " on " + kernel_label(run);
      std::string directive;
      if (c.verdict == Verdict::skip) directive = " # SKIP " + reason;
      os << (c.verdict == Verdict::pass || c.verdict == Verdict::skip ? "ok " : "not ok ") << i << " " << name
         << directive << "\n";
      if (c.verdict == Verdict::fail) os << "# FAIL (" << to_string(c.kind) << "): " << reason << "\n";
      if (c.verdict == Verdict::error || c.verdict == Verdict::incomplete)
        os << "# " << outcome << ": " << reason << "\n";
      if (!detectors_armed(c)) os << "# ran WITHOUT its race detector\n";
      std::istringstream ev(evidence(c, 4000));
      for (std::string line; std::getline(ev, line);) os << "#   " << line << "\n";
    }
  }
  return os.str();
}

// --- KCIDB v5 ---
namespace {

// One case as a KCIDB test of the build build_id.
nlohmann::json kcidb_test(const RunRecord& run, const CaseResult& c, const std::string& origin,
                          const std::string& build_id, const std::string& run_part, const nlohmann::json& target) {
  const std::string& stamp = run.run.started_at;
  const std::string& host = run.system.kernel.host;
  std::string outcome = outcome_of(c);
  std::string status = c.verdict == Verdict::incomplete ? "MISS" : outcome;  // harness never finished: MISS
  std::string path = "diorace." + test_path_part(c.name);
  if (!c.variant.empty()) path += "." + test_path_part(c.variant);
  nlohmann::json t = {{"id", origin + ":" + run_part + "-" + id_part(case_key(c))},
                      {"build_id", build_id},
                      {"origin", origin},
                      {"path", path},
                      {"status", status},
                      {"duration", c.duration_s}};
  const std::string& cs = c.started_at.empty() ? stamp : c.started_at;
  if (!cs.empty()) t["start_time"] = cs;
  std::string reason = c.reason;
  if (!detectors_armed(c)) reason += (reason.empty() ? "" : "; ") + std::string("ran WITHOUT its race detector");
  if (!reason.empty()) t["comment"] = reason;
  std::string ev = evidence(c, 16000);
  if (!ev.empty()) t["log_excerpt"] = ev.substr(0, 16384);
  nlohmann::json misc = {{"iterations", c.iterations},
                         {"failures", c.failures},
                         {"kind", std::string(to_string(c.kind))},
                         {"forks", c.forks},
                         {"ios", c.ios},
                         {"detectors_armed", detectors_armed(c)},
                         {"fault_injected", c.fault_injected},
                         {"race_hits", c.race_hits},
                         {"params", c.params}};
  if (c.first_failure_s) misc["first_failure_s"] = *c.first_failure_s;
  t["misc"] = misc;
  t["environment"] = {{"comment", host.empty() ? std::string("diorace") : host}, {"misc", {{"target", target}}}};
  return t;
}

// The build of a run: its kernel image and config.
nlohmann::json kcidb_build(const RunRecord& run, const std::string& origin, const std::string& checkout_id,
                           const std::string& build_id) {
  const std::string& digest = run.system.kconfig.digest;
  nlohmann::json b = {{"id", build_id}, {"checkout_id", checkout_id}, {"origin", origin}, {"status", "PASS"},
                      {"comment", "kernel image under test: " + kernel_label(run)}};
  b["architecture"] = "x86_64";
  if (!digest.empty()) b["config_name"] = "sha256:" + digest;
  nlohmann::json misc = nlohmann::json::object();
  if (!run.system.kconfig.detectors.empty()) misc["detectors"] = run.system.kconfig.detectors;
  if (run.vm) misc["vm_image"] = run.vm->image;
  b["misc"] = misc;
  return b;
}

// KCIDB allows no nulls anywhere.
void drop_nulls(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_null()) it = j.erase(it);
      else drop_nulls(*it++);
    }
  } else if (j.is_array()) {
    for (auto& x : j) drop_nulls(x);
  }
}

}  // namespace

nlohmann::json to_kcidb(const std::vector<RunRecord>& runs, const std::string& origin) {
  // KCIDB I/O schema v5.3, the newest KernelCI's validator (kcidb-io) accepts.
  nlohmann::json out = {{"version", {{"major", 5}, {"minor", 3}}},
                        {"checkouts", nlohmann::json::array()},
                        {"builds", nlohmann::json::array()},
                        {"tests", nlohmann::json::array()}};
  std::set<std::string> checkouts, builds;
  for (const auto& run : runs) {
    const std::string& release = run.system.kernel.release;
    const std::string& version = run.system.kernel.version;
    const std::string& digest = run.system.kconfig.digest;
    std::string kernel = kernel_label(run);
    // diorace tests kernels it did not build: the checkout is the kernel's
    // identity (release + version), the build its image and config.
    std::string checkout_id = origin + ":" + id_part(release.empty() ? kernel : release) + "-" +
                              stable_hash_hex(version);
    std::string build_id = checkout_id + "-" + id_part(digest.empty() ? "unknown-config" : digest.substr(0, 16));
    if (checkouts.insert(checkout_id).second)
      out["checkouts"].push_back({{"id", checkout_id}, {"origin", origin}, {"valid", true},
                                  {"comment", "Linux " + kernel + (version.empty() ? "" : " " + version)}});
    if (builds.insert(build_id).second) out["builds"].push_back(kcidb_build(run, origin, checkout_id, build_id));
    // Unique across a fleet and the same whether the run was read back from
    // a store or not: the run's uid (older runs: host and start time).
    const std::string run_part =
        run.run.uid.empty() ? id_part(run.system.kernel.host) + "-" + id_part(run.run.started_at) +
                                  (run.run.id ? "-" + std::to_string(*run.run.id) : "")
                            : id_part(run.run.uid);
    const nlohmann::json target = nlohmann::json(run)["target"];
    for (const auto& c : run.cases) out["tests"].push_back(kcidb_test(run, c, origin, build_id, run_part, target));
  }
  drop_nulls(out);
  return out;
}

// --- JSON lines: one object per case, with its run's identity ---
std::string to_jsonl(const std::vector<RunRecord>& runs) {
  std::string out;
  for (const auto& run : runs) {
    const nlohmann::json doc = run;
    for (const auto& c : run.cases) {
      nlohmann::json line = c;
      line["kernel"] = doc["system"]["kernel"];
      line["kernel_label"] = kernel_label(run);
      line["run"] = doc["run"];
      out += line.dump() + "\n";
    }
  }
  return out;
}

// --- comparison ---
namespace {
std::string aggregate(const std::vector<std::string>& outcomes) {
  if (std::count(outcomes.begin(), outcomes.end(), "FAIL")) return "FAIL";
  if (std::count(outcomes.begin(), outcomes.end(), "PASS")) return "PASS";
  return outcomes.empty() ? "" : outcomes.front();
}
std::map<std::string, std::vector<std::string>> outcomes_by_case(const std::vector<RunRecord>& runs) {
  std::map<std::string, std::vector<std::string>> m;
  for (const auto& run : runs)
    for (const auto& c : run.cases) m[case_key(c)].push_back(outcome_of(c));
  return m;
}
}  // namespace

nlohmann::json compare_runs(const std::vector<RunRecord>& a, const std::vector<RunRecord>& b) {
  auto ma = outcomes_by_case(a), mb = outcomes_by_case(b);
  std::set<std::string> keys;
  for (auto& [k, v] : ma) keys.insert(k);
  for (auto& [k, v] : mb) keys.insert(k);
  nlohmann::json out = {{"fixed", nlohmann::json::array()},   {"regressed", nlohmann::json::array()},
                        {"new", nlohmann::json::array()},     {"gone", nlohmann::json::array()},
                        {"still_failing", nlohmann::json::array()}, {"unchanged", nlohmann::json::array()},
                        {"changed", nlohmann::json::array()}};
  for (const auto& k : keys) {
    std::string oa = ma.count(k) ? aggregate(ma[k]) : "", ob = mb.count(k) ? aggregate(mb[k]) : "";
    nlohmann::json row = {{"case", k}, {"a", oa}, {"b", ob}};
    if (oa.empty()) out["new"].push_back(row);
    else if (ob.empty()) out["gone"].push_back(row);
    else if (oa == "FAIL" && ob == "PASS") out["fixed"].push_back(row);
    else if (oa == "PASS" && ob == "FAIL") out["regressed"].push_back(row);
    else if (oa == "FAIL" && ob == "FAIL") out["still_failing"].push_back(row);
    else if (oa == ob) out["unchanged"].push_back(row);
    else out["changed"].push_back(row);
  }
  return out;
}

std::string format_comparison(const nlohmann::json& cmp, const std::string& a_name, const std::string& b_name) {
  std::ostringstream os;
  os << "compare A = " << a_name << "  ->  B = " << b_name << "\n";
  auto section = [&](const char* key, const char* title) {
    for (const auto& row : cmp[key])
      os << fmt::format("{:<14} {:<24} {:<10} -> {}\n", title, row["case"].get<std::string>(),
                        row["a"].get<std::string>().empty() ? "-" : row["a"].get<std::string>(),
                        row["b"].get<std::string>().empty() ? "-" : row["b"].get<std::string>());
  };
  section("regressed", "REGRESSED");
  section("fixed", "FIXED");
  section("new", "NEW");
  section("still_failing", "STILL FAILING");
  section("changed", "CHANGED");
  section("gone", "GONE");
  section("unchanged", "unchanged");
  os << fmt::format("{} regressed, {} fixed, {} new, {} still failing, {} changed, {} gone, {} unchanged\n",
                    cmp["regressed"].size(), cmp["fixed"].size(), cmp["new"].size(), cmp["still_failing"].size(),
                    cmp["changed"].size(), cmp["gone"].size(), cmp["unchanged"].size());
  return os.str();
}

namespace {
void write_text(const std::string& path, const std::string& text) { write_output_file(path, text); }
}  // namespace

void write_outputs(const std::vector<RunRecord>& runs, const OutputOptions& o) {
  if (!o.junit.empty()) write_text(o.junit, to_junit(runs));
  if (!o.ktap.empty()) write_text(o.ktap, to_ktap(runs));
  if (!o.kcidb.empty()) write_text(o.kcidb, to_kcidb(runs, o.origin).dump(2) + "\n");
  if (!o.jsonl.empty()) write_text(o.jsonl, to_jsonl(runs));
  if (!o.html.empty()) write_text(o.html, to_html(runs));
}

}  // namespace diorace
