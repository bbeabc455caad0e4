// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/cli_values.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <algorithm>

#include <boost/program_options.hpp>

#include "diorace/error.hpp"

namespace diorace {

namespace po = boost::program_options;

void validate(boost::any& out, const std::vector<std::string>& values, Count*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& s = po::validators::get_single_string(values);
  bool ok = !s.empty() && s.size() <= 20;
  for (char c : s) ok = ok && c >= '0' && c <= '9';
  errno = 0;
  const unsigned long long v = ok ? std::strtoull(s.c_str(), nullptr, 10) : 0;
  if (!ok || errno == ERANGE) throw po::invalid_option_value(s);
  out = Count{v};
}

void validate(boost::any& out, const std::vector<std::string>& values, Real*, int) {
  po::validators::check_first_occurrence(out);
  const std::string& s = po::validators::get_single_string(values);
  // Decimal only: digits, one '.', an exponent. strtod would also take
  // blanks, hex ("0x10") and "inf".
  bool plain = !s.empty() && s.size() <= 64;
  for (char c : s) plain = plain && (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' ||
                                     c == '-' || c == '+');
  if (!plain) throw po::invalid_option_value(s);
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d)) throw po::invalid_option_value(s);
  out = Real{d};
}

void reject_empty_values(const po::variables_map& vm, const po::options_description& desc,
                         const std::vector<std::string>& may_be_empty) {
  for (const auto& [name, value] : vm) {
    if (value.defaulted() || std::find(may_be_empty.begin(), may_be_empty.end(), name) != may_be_empty.end())
      continue;
    const auto* opt = desc.find_nothrow(name, false);
    if (opt && opt->semantic()->max_tokens() == 0) continue;  // a switch
    bool empty = false;
    if (const auto* s = boost::any_cast<std::string>(&value.value())) empty = s->empty();
    if (const auto* v = boost::any_cast<std::vector<std::string>>(&value.value()))
      empty = std::any_of(v->begin(), v->end(), [](const std::string& x) { return x.empty(); });
    if (empty) throw UsageError("--" + name + ": empty value");
  }
}

}  // namespace diorace
