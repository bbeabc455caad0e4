// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/params.hpp"

#include <cctype>
#include <set>
#include <cerrno>
#include <cstdlib>

#include "diorace/error.hpp"

namespace diorace {

std::string ParamSpec::default_text() const {
  return is_choice() ? choices.at(static_cast<size_t>(def)) : std::to_string(def);
}

void to_json(nlohmann::json& j, const ParamSpec& p) {
  j = {{"name", p.name}, {"help", p.help}};
  if (p.is_choice()) {
    j["default"] = p.default_text();
    j["choices"] = p.choices;
  } else {
    j["default"] = p.def;
    j["min"] = p.min;
    j["max"] = p.max;
  }
}

int64_t ParamValues::integer(const std::string& name) const {
  auto it = ints_.find(name);
  if (it == ints_.end()) throw std::logic_error("case asked for undeclared integer parameter " + name);
  return it->second;
}

const std::string& ParamValues::choice(const std::string& name) const {
  auto it = strs_.find(name);
  if (it == strs_.end()) throw std::logic_error("case asked for undeclared choice parameter " + name);
  return it->second;
}

nlohmann::json ParamValues::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, v] : ints_) j[k] = v;
  for (auto& [k, v] : strs_) j[k] = v;
  return j;
}

std::pair<std::string, std::string> split_param(const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    throw UsageError("--param expects NAME=VALUE, got '" + arg + "'");
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

int64_t parse_int_value(const std::string& what, const std::string& text) {
  // Decimal digits only (an optional '-' and a K/M/G suffix): no blanks, no
  // hex, and no leading zero, which strtoll would read as octal (010 = 8).
  size_t digits = text.rfind('-', 0) == 0 ? 1 : 0;
  const size_t first = digits;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == first) throw UsageError(what + ": '" + text + "' is not a number");
  if (text[first] == '0' && digits - first > 1)
    throw UsageError(what + ": '" + text + "' has a leading zero (decimal numbers only; it is not read as octal)");
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (end == text.c_str() || errno == ERANGE) throw UsageError(what + ": '" + text + "' is not a number");
  int64_t mult = 1;
  std::string suffix(end);
  if (suffix == "k" || suffix == "K" || suffix == "KiB") mult = 1024;
  else if (suffix == "m" || suffix == "M" || suffix == "MiB") mult = 1024 * 1024;
  else if (suffix == "g" || suffix == "G" || suffix == "GiB") mult = 1024LL * 1024 * 1024;
  else if (!suffix.empty()) throw UsageError(what + ": '" + text + "' is not a number");
  return static_cast<int64_t>(v) * mult;
}

ParamValues resolve_params(const std::string& case_name, const std::vector<ParamSpec>& specs,
                           const std::vector<std::pair<std::string, std::string>>& given) {
  ParamValues values;
  for (const auto& s : specs) {
    if (s.is_choice())
      values.set_choice(s.name, s.default_text());
    else
      values.set_integer(s.name, s.def);
  }
  std::set<std::string> seen;
  for (const auto& [raw_name, text] : given) {
    if (!seen.insert(raw_name).second)
      throw UsageError("parameter " + raw_name + " given twice (say it once)");
    std::string name = raw_name;
    if (auto dot = raw_name.find('.'); dot != std::string::npos) {
      if (raw_name.substr(0, dot) != case_name) continue;
      name = raw_name.substr(dot + 1);
    }
    const ParamSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name) spec = &s;
    if (!spec) continue;  // the caller checks that every name is known somewhere
    std::string what = "parameter " + case_name + "." + name;
    if (spec->is_choice()) {
      bool ok = false;
      for (const auto& c : spec->choices) ok = ok || c == text;
      if (!ok) {
        std::string list;
        for (const auto& c : spec->choices) list += (list.empty() ? "" : ", ") + c;
        throw UsageError(what + ": '" + text + "' is not one of: " + list);
      }
      values.set_choice(name, text);
    } else {
      int64_t v = parse_int_value(what, text);
      if (v < spec->min || v > spec->max)
        throw UsageError(what + ": " + text + " is out of range [" + std::to_string(spec->min) + ", " +
                         std::to_string(spec->max) + "]");
      values.set_integer(name, v);
    }
  }
  return values;
}

}  // namespace diorace
