// SPDX-License-Identifier: GPL-2.0-or-later
// Reading a guest's serial console: its tail, and where a crash begins.
#include <optional>
#include <regex>
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
  size_t start = console.rfind('\n', at > 2000 ? at - 2000 : 0);
  start = start == std::string::npos ? 0 : start;
  // Back up a little to include the lines before the panic headline.
  size_t before = at;
  for (int i = 0; i < 5 && before > 0; ++i) {
    before = console.rfind('\n', before - 1);
    if (before == std::string::npos) {
      before = 0;
      break;
    }
  }
  (void)start;
  return console.substr(before, 8000);
}

std::optional<size_t> find_crash(const std::string& console, std::string& what) {
  static const std::regex re(R"((Kernel panic - not syncing[^\r\n]*|BUG: unable to handle[^\r\n]*|Oops: [^\r\n]*|kernel BUG at[^\r\n]*|general protection fault[^\r\n]*))");
  std::smatch m;
  if (std::regex_search(console, m, re)) {
    what = m.str(1);
    while (!what.empty() && (what.back() == '\r' || what.back() == ' ')) what.pop_back();
    return static_cast<size_t>(m.position(0));
  }
  return std::nullopt;
}

void fail_with_crash(CaseResult& r, const std::string& console, size_t at, const std::string& what) {
  r.fail(FailKind::crash, "guest kernel crashed: " + what);
  r.failures = 1;
  r.events.push_back(CrashEvent{crash_excerpt(console, at)});
}

}  // namespace diorace::detail
