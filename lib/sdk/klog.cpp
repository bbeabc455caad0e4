// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/klog.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

namespace diorace {

namespace {

struct Rule {
  const char* needle;
  const char* cls;
};
// Most specific first: lockdep reports start with "WARNING:", KCSAN and
// soft lockups with "BUG:".
constexpr Rule kRules[] = {
    {"BUG: KCSAN:", "kcsan"},
    {"BUG: KASAN:", "kasan"},
    {"KASAN:", "kasan"},
    {"UBSAN:", "ubsan"},
    {"possible circular locking dependency", "lockdep"},
    {"possible recursive locking", "lockdep"},
    {"inconsistent lock state", "lockdep"},
    {"suspicious RCU usage", "lockdep"},
    {"possible irq lock inversion", "lockdep"},
    {"bad unlock balance", "lockdep"},
    {"BUG: soft lockup", "soft_lockup"},
    {"soft lockup - CPU", "soft_lockup"},
    {"hard LOCKUP", "hard_lockup"},
    {"self-detected stall", "rcu_stall"},
    {"detected stalls on CPUs", "rcu_stall"},
    {"rcu_sched detected stall", "rcu_stall"},
    {"blocked for more than", "hung_task"},
    {"general protection fault", "gpf"},
    {"kernel BUG at", "bug"},
    {"BUG:", "bug"},
    {"Oops:", "oops"},
    {"WARNING:", "warning"},
    {"Kernel panic", "panic"},
    {"csd: Detected non-responsive CSD lock", "csd_lock"},
    {"csd: CSD lock", "csd_lock"},
};

}  // namespace

// The needle must start the line or follow a non-alphanumeric character, so
// that "DEBUG:" is not a "BUG:".
bool contains_word(std::string_view line, std::string_view needle) {
  for (size_t pos = line.find(needle); pos != std::string_view::npos; pos = line.find(needle, pos + 1))
    if (pos == 0 || !std::isalnum(static_cast<unsigned char>(line[pos - 1]))) return true;
  return false;
}

std::string classify_kmsg_line(std::string_view line) {
  for (const auto& r : kRules)
    if (contains_word(line, r.needle)) return r.cls;
  return "";
}

std::optional<unsigned> kmsg_record_facility(std::string_view record) {
  // "PRI,SEQ,TIMESTAMP,FLAGS[,...];MESSAGE": PRI = facility * 8 + level.
  unsigned pri = 0;
  size_t i = 0;
  for (; i < record.size() && i < 10 && std::isdigit(static_cast<unsigned char>(record[i])); ++i)
    pri = pri * 10 + static_cast<unsigned>(record[i] - '0');
  if (i == 0 || i >= record.size() || (record[i] != ',' && record[i] != ';')) return std::nullopt;
  return pri >> 3;
}

std::optional<KernelReport> parse_kernel_report(std::string_view rec) {
  const auto facility = kmsg_record_facility(rec);
  const size_t semi = rec.find(';');
  if (!facility || *facility != 0 || semi == std::string_view::npos) return std::nullopt;
  std::string msg(rec.substr(semi + 1));
  if (const auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  const std::string cls = classify_kmsg_line(msg);
  if (cls.empty()) return std::nullopt;
  return KernelReport{cls, msg, kernel_report_where(msg)};
}

std::string kernel_report_where(std::string_view msg) {
  // The function a WARNING or BUG names: the word before the last "+0x".
  const size_t p = msg.rfind("+0x");
  if (p == std::string_view::npos || p == 0) return "";
  const size_t s = msg.rfind(' ', p);
  const size_t from = s == std::string_view::npos ? 0 : s + 1;
  return std::string(msg.substr(from, p - from));
}

std::optional<long> hung_task_pid(std::string_view headline) {
  const auto task = headline.find("task ");
  const auto blocked = headline.find(" blocked for more than");
  if (task == std::string_view::npos || blocked == std::string_view::npos || blocked < task) return std::nullopt;
  const auto colon = headline.rfind(':', blocked);
  if (colon == std::string_view::npos || colon < task || colon + 1 >= blocked) return std::nullopt;
  const std::string_view digits = headline.substr(colon + 1, blocked - colon - 1);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return std::stol(std::string(digits));
}

Finding kernel_report_finding(const KernelReport& r) {
  Finding f;
  f.kind = FailKind::splat;
  f.oracle = "kmsg";
  f.summary = "the kernel logged, while this program ran: " + r.headline;
  f.text = f.summary;
  f.detail = {{"class", "splat:" + r.cls}, {"shape", r.where.empty() ? r.cls : r.where}, {"headline", r.headline}};
  return f;
}

std::optional<KernelLogWatch> KernelLogWatch::open(const std::string& path) {
  int err = 0;
  UniqueFd fd = UniqueFd::try_open(path, O_RDONLY | O_NONBLOCK, err);
  if (!fd) return std::nullopt;
  ::lseek(fd.get(), 0, SEEK_END);  // only what comes from now on
  KernelLogWatch w;
  w.fd_ = std::move(fd);
  return w;
}

std::vector<KernelReport> KernelLogWatch::drain() {
  std::vector<KernelReport> out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf - 1);
    if (n < 0 && errno == EPIPE) continue;  // records overwritten before we read them: go on
    if (n <= 0) break;
    if (auto r = parse_kernel_report({buf, static_cast<size_t>(n)})) out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace diorace
