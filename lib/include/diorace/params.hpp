// SPDX-License-Identifier: GPL-2.0-or-later
// Case parameters: declared with defaults and valid ranges (or a list of
// choices), given on the command line as --param NAME=VALUE or
// --param CASE.NAME=VALUE, validated before anything runs.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace diorace {

struct ParamSpec {
  std::string name;
  std::string help;
  int64_t def = 0;  // the default value, or the index of the default choice
  int64_t min = 0;
  int64_t max = 0;
  std::vector<std::string> choices;  // non-empty: an enumerated parameter
  [[nodiscard]] bool is_choice() const noexcept { return !choices.empty(); }
  [[nodiscard]] std::string default_text() const;
};
void to_json(nlohmann::json& j, const ParamSpec& p);

// Concatenates parameter lists (a case's own and a library helper's).
inline std::vector<ParamSpec> with_params(std::vector<ParamSpec> a, const std::vector<ParamSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class ParamValues {
 public:
  [[nodiscard]] int64_t integer(const std::string& name) const;
  [[nodiscard]] bool has_integer(const std::string& name) const { return ints_.count(name) > 0; }
  [[nodiscard]] const std::string& choice(const std::string& name) const;
  void set_integer(const std::string& name, int64_t v) { ints_[name] = v; }
  void set_choice(const std::string& name, std::string v) { strs_[name] = std::move(v); }
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  std::map<std::string, int64_t> ints_;
  std::map<std::string, std::string> strs_;
};

// Parses "NAME=VALUE" (NAME may be "CASE.NAME"); throws UsageError.
std::pair<std::string, std::string> split_param(const std::string& arg);
// Resolves the values for one case from its specs and the user's settings
// (already split). Throws UsageError on a bad value.
ParamValues resolve_params(const std::string& case_name, const std::vector<ParamSpec>& specs,
                           const std::vector<std::pair<std::string, std::string>>& given);
// Parses a size with an optional K/M/G suffix (binary); throws UsageError.
int64_t parse_int_value(const std::string& what, const std::string& text);

}  // namespace diorace
