// SPDX-License-Identifier: GPL-2.0-or-later
// The outcome vocabulary's names (verdict.hpp).
#include "diorace/verdict.hpp"

#include <stdexcept>
#include <string>

namespace diorace {

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::fail: return "FAIL";
    case Verdict::skip: return "SKIP";
    case Verdict::error: return "ERROR";
    case Verdict::incomplete: return "INCOMPLETE";
  }
  return "ERROR";
}

std::string_view to_string(FailKind k) noexcept {
  switch (k) {
    case FailKind::none: return "";
    case FailKind::corruption: return "corruption";
    case FailKind::splat: return "splat";
    case FailKind::taint: return "taint";
    case FailKind::hang: return "hang";
    case FailKind::crash: return "crash";
    case FailKind::wrong_result: return "wrong_result";
    case FailKind::not_blocked: return "not_blocked";
  }
  return "";
}

Verdict verdict_from_string(std::string_view s) {
  for (auto v : {Verdict::pass, Verdict::fail, Verdict::skip, Verdict::error, Verdict::incomplete})
    if (to_string(v) == s) return v;
  throw std::invalid_argument("unknown verdict " + std::string(s));
}

FailKind fail_kind_from_string(std::string_view s) {
  for (auto k : {FailKind::none, FailKind::corruption, FailKind::splat, FailKind::taint, FailKind::hang,
                 FailKind::crash, FailKind::wrong_result, FailKind::not_blocked})
    if (to_string(k) == s) return k;
  throw std::invalid_argument("unknown failure kind " + std::string(s));
}

}  // namespace diorace
