// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/registry.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <stdexcept>

namespace diorace {

namespace {
constexpr std::pair<Oracle, std::string_view> kOracleNames[] = {
    {Oracle::data, "data"},   {Oracle::result, "result"}, {Oracle::must_block, "must_block"},
    {Oracle::deadline, "deadline"}, {Oracle::kmsg, "kmsg"}, {Oracle::taint, "taint"},
    {Oracle::hang, "hang"},   {Oracle::crash, "crash"},
};
}  // namespace

std::string_view oracle_name(Oracle o) noexcept {
  for (const auto& [k, n] : kOracleNames)
    if (k == o) return n;
  return "?";
}

std::optional<Oracle> oracle_from_name(std::string_view name) noexcept {
  for (const auto& [k, n] : kOracleNames)
    if (n == name) return k;
  return std::nullopt;
}

std::vector<std::string> OracleSet::names() const {
  std::vector<std::string> out;
  for (const auto& [k, n] : kOracleNames)
    if (has(k)) out.emplace_back(n);
  return out;
}

std::vector<std::string> need_names(unsigned needs) {
  std::vector<std::string> out;
  if (needs & kNeedRoot) out.push_back("root");
  if (needs & kNeedODirect) out.push_back("odirect");
  if (needs & kNeedLibaio) out.push_back("libaio");
  if (needs & kNeedIoUring) out.push_back("io_uring");
  if (needs & kNeedLoop) out.push_back("loop");
  if (needs & kNeedGuest) out.push_back("vm_guest");
  return out;
}

void to_json(nlohmann::json& j, const CaseInfo& c) {
  nlohmann::json fixed = nlohmann::json::array();
  for (const auto& f : c.fixed_by) {
    nlohmann::json one = {{"hash", f.hash}, {"subject", f.subject}};
    if (!f.mainline.empty()) one["mainline"] = f.mainline;
    fixed.push_back(std::move(one));
  }
  j = {{"name", c.name},
       {"summary", c.summary},
       {"races", c.races},
       {"seed", c.seed_thread},
       {"fixed_by", fixed},
       {"known_bad", c.known_bad},
       {"needs", need_names(c.needs)},
       {"oracles", c.oracles.names()},
       {"detectors", c.detectors},
       {"kmsg_ignore", c.kmsg_ignore},
       {"own_signatures", c.own_signatures},
       {"probes", [&] {
          nlohmann::json a = nlohmann::json::array();
          for (const auto& p : c.probes) a.push_back({{"symbol", p.symbol}, {"meaning", p.meaning}});
          return a;
        }()},
       {"iteration_timeout_s", c.iteration_timeout_s},
       {"default_duration_s", c.default_duration_s},
       {"vm_device_bps", c.vm_device_bps},
       {"test_only", c.test_only},
       {"explorer", c.explorer},
       {"variants", c.variants},
       {"controls", c.controls},
       {"parameters", c.params}};
}

void to_json(nlohmann::json& j, const Control& c) {
  j = {{"kernel", c.kernel},     {"expect", std::string(to_string(c.expect))},
       {"variants", c.variants}, {"kind", std::string(to_string(c.kind))},
       {"own_race", c.own_race}, {"duration_s", c.duration_s},
       {"why", c.why}};
}

uint64_t planned_target_bytes(const CaseInfo& info, const ParamValues& p) {
  uint64_t bytes = info.target_bytes ? info.target_bytes(p) : 0;
  if (p.has_integer("contention_file_mib") && p.has_integer("contention_readers") &&
      p.integer("contention_readers") > 0)
    bytes += static_cast<uint64_t>(p.integer("contention_file_mib")) << 20;
  return bytes;
}

std::string CaseContext::fixture_name(const std::string& suffix) const {
  return "diorace-" + info.name + "-" + suffix + ".dat";
}

Registry& Registry::instance() {
  static Registry r;
  return r;
}

std::string check_case_info(const CaseInfo& info) {
  if (info.name.empty()) return "case without a name";
  for (char c : info.name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return info.name + ": name must be lower_snake_case";
  if (info.summary.empty()) return info.name + ": no summary";
  if (!info.make) return info.name + ": no factory";
  for (const auto& f : info.fixed_by) {
    if (f.hash.size() != 40 ||
        !std::all_of(f.hash.begin(), f.hash.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)); }))
      return info.name + ": fixing commit '" + f.hash + "' is not a full 40-hex hash";
    if (f.subject.empty()) return info.name + ": fixing commit " + f.hash + " has no subject";
  }
  for (const auto& re : info.own_signatures) {
    try {
      std::regex r(re);
    } catch (const std::regex_error&) {
      return info.name + ": own signature '" + re + "' is not a valid regular expression";
    }
  }
  for (const auto& re : info.kmsg_ignore) {
    try {
      std::regex r(re);
    } catch (const std::regex_error&) {
      return info.name + ": kmsg_ignore '" + re + "' is not a valid regular expression";
    }
  }
  if (!info.variants.empty()) {
    auto it = std::find_if(info.params.begin(), info.params.end(), [](const ParamSpec& p) { return p.name == "variant"; });
    if (it == info.params.end() || !it->is_choice())
      return info.name + ": a case with variants declares a 'variant' choice parameter";
  }
  for (const auto& c : info.controls) {
    if (c.kernel.empty()) return info.name + ": a control without a kernel";
    if (c.expect != Verdict::fail && c.expect != Verdict::pass) return info.name + ": a control expects FAIL or PASS";
    if (c.expect == Verdict::pass && (c.kind != FailKind::none || c.own_race))
      return info.name + ": a PASS control names a failure kind";
    if (!(c.duration_s > 0)) return info.name + ": a control needs a positive duration";
    for (const auto& v : c.variants)
      if (std::find(info.variants.begin(), info.variants.end(), v) == info.variants.end())
        return info.name + ": control names unknown variant " + v;
  }
  if (!info.test_only && !info.controls.empty() &&
      std::none_of(info.controls.begin(), info.controls.end(), [](const Control& c) { return c.expect == Verdict::pass; }))
    return info.name + ": controls without a kernel it must pass on";
  std::set<std::string> names;
  for (const auto& p : info.params) {
    if (!names.insert(p.name).second) return info.name + ": duplicate parameter " + p.name;
    if (p.is_choice()) {
      if (p.def < 0 || static_cast<size_t>(p.def) >= p.choices.size()) return info.name + "." + p.name + ": bad default";
    } else if (p.min > p.max || p.def < p.min || p.def > p.max) {
      return info.name + "." + p.name + ": default outside [min, max]";
    }
  }
  return {};
}

void Registry::add(CaseInfo info) {
  if (auto err = check_case_info(info); !err.empty()) throw std::logic_error("invalid case declaration: " + err);
  if (find(info.name)) throw std::logic_error("case registered twice: " + info.name);
  cases_.push_back(std::move(info));
  std::sort(cases_.begin(), cases_.end(), [](const CaseInfo& a, const CaseInfo& b) { return a.name < b.name; });
}

const CaseInfo* Registry::find(const std::string& name) const noexcept {
  for (const auto& c : cases_)
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<Control> with_series(std::vector<Control> pinned) {
  const size_t n = pinned.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string& k = pinned[i].kernel;
    const char* series = k == kDebian61 ? kSeries61 : k == kDebian612 ? kSeries612 : nullptr;
    if (!series) continue;
    Control c = pinned[i];
    c.kernel = series;
    c.why += " (newest of the series)";
    pinned.push_back(std::move(c));
  }
  return pinned;
}

}  // namespace diorace
