// SPDX-License-Identifier: GPL-2.0-or-later
// Reading a guest's serial console: its tail, and where a crash begins.
#include <optional>
#include <algorithm>
#include <string>

#include "vm_internal.hpp"

namespace diorace::detail {

std::string tail_lines(const std::string& text, size_t n) {
  size_t pos = text.size();
  for (size_t i = 0; i < n && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return text.substr(pos);
}

// The console from the first crash line on, bounded.
std::string crash_excerpt(const std::string& console, size_t at) {
  // Back up five lines to include those before the panic headline, but never
  // more than 2000 bytes (a guest's line can be of any length).
  const size_t floor = at > 2000 ? at - 2000 : 0;
  size_t before = at;
  for (int i = 0; i < 5 && before > floor; ++i) {
    before = console.rfind('\n', before - 1);
    if (before == std::string::npos || before < floor) {
      before = floor;
      break;
    }
  }
  return console.substr(before, 8000);
}

std::optional<size_t> find_crash(const std::string& console, std::string& what) {
  // Plain searches, no regex: a console or a LAVA log comes from an
  // untrusted guest, and a backtracking regex overflows the stack on a long
  // line. The earliest headline wins; its text is bounded.
  static constexpr const char* kHeadlines[] = {"Kernel panic - not syncing", "BUG: unable to handle", "Oops: ",
                                               "kernel BUG at", "general protection fault"};
  size_t first = std::string::npos;
  for (const char* h : kHeadlines) first = std::min(first, console.find(h));
  if (first == std::string::npos) return std::nullopt;
  size_t end = console.find_first_of("\r\n", first);
  if (end == std::string::npos) end = console.size();
  constexpr size_t kMaxWhat = 300;
  what = console.substr(first, std::min(end - first, kMaxWhat));
  while (!what.empty() && (what.back() == '\r' || what.back() == ' ')) what.pop_back();
  return first;
}

void fail_with_crash(CaseResult& r, const std::string& console, size_t at, const std::string& what) {
  r.fail(FailKind::crash, "guest kernel crashed: " + what);
  r.failures = 1;
  r.events.push_back(CrashEvent{crash_excerpt(console, at)});
}

}  // namespace diorace::detail
