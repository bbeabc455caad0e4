// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel series resolved through apt-cache, and the fixing commits a
// package's changelog lists.
#include "diorace/distro.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/process.hpp"

namespace fs = std::filesystem;

namespace diorace {

namespace {

std::string escape_dots(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '.' || c == '+') out += '\\';
    out += c;
  }
  return out;
}

// Debian version order, by dpkg itself.
bool debian_newer(const std::string& a, const std::string& b) {
  return run_command({"dpkg", "--compare-versions", a, "gt", b}, std::chrono::seconds(30)).status == 0;
}

std::vector<unsigned long> numbers(const std::string& v) {
  std::vector<unsigned long> out;
  std::string s = v;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.erase(0, 1);
  std::istringstream is(s);
  std::string part;
  while (std::getline(is, part, '.')) {
    size_t n = 0;
    while (n < part.size() && std::isdigit(static_cast<unsigned char>(part[n]))) ++n;
    if (n == 0) break;
    out.push_back(std::stoul(part.substr(0, n)));
    if (n < part.size()) break;  // "6.7-rc1": stop at the suffix
  }
  return out;
}

std::string short_hash(const Commit& c) { return c.hash.substr(0, 12); }

}  // namespace

std::optional<KernelSeries> parse_kernel_series(const std::string& spec) {
  static const std::regex re(R"(debian:([0-9]+\.[0-9]+)-([a-z0-9]+(-[a-z0-9]+)*))");
  std::smatch m;
  if (!std::regex_match(spec, m, re)) return std::nullopt;
  return KernelSeries{m[1].str(), m[2].str()};
}

bool package_in_series(const std::string& package, const KernelSeries& s) {
  const std::regex re("linux-image-" + escape_dots(s.series) + R"(\.[0-9]+(-[0-9]+)?(\+deb[0-9]+)?-)" +
                      escape_dots(s.flavour) + "-unsigned");
  return std::regex_match(package, re);
}

ResolvedKernel resolve_kernel_series(const KernelSeries& s) {
  // One resolution per series and process: a proof asks for each control.
  static std::mutex mu;
  static std::map<std::string, ResolvedKernel> memo;
  std::lock_guard lock(mu);
  if (auto it = memo.find(s.spec()); it != memo.end()) return it->second;
  auto names = run_command({"apt-cache", "pkgnames", "linux-image-" + s.series + "."}, std::chrono::seconds(120));
  if (!names.ok()) throw SetupError("apt-cache pkgnames: " + names.output);
  std::vector<std::string> candidates;
  std::istringstream is(names.output);
  for (std::string p; std::getline(is, p);)
    if (package_in_series(p, s)) candidates.push_back(p);
  if (candidates.empty())
    throw SetupError(fmt::format("{}: the apt sources offer no linux-image-{}.*-{}-unsigned package (apt-get update?)",
                                 s.spec(), s.series, s.flavour));
  std::vector<std::string> argv = {"apt-cache", "show", "--no-all-versions"};
  argv.insert(argv.end(), candidates.begin(), candidates.end());
  auto show = run_command(argv, std::chrono::seconds(120));
  if (!show.ok()) throw SetupError("apt-cache show: " + show.output.substr(0, 300));
  ResolvedKernel best;
  std::istringstream ss(show.output);
  std::string package;
  for (std::string line; std::getline(ss, line);) {
    if (line.rfind("Package: ", 0) == 0) package = line.substr(9);
    if (line.rfind("Version: ", 0) == 0 && !package.empty()) {
      const std::string version = line.substr(9);
      if (best.package.empty() || debian_newer(version, best.version)) best = {package, version};
      package.clear();
    }
  }
  if (best.package.empty()) throw SetupError(s.spec() + ": apt-cache show gave no version");
  memo[s.spec()] = best;
  return best;
}

std::string resolve_kernel_name(const std::string& name) {
  if (auto s = parse_kernel_series(name)) return resolve_kernel_series(*s).package;
  return name;
}

std::string upstream_of(const std::string& debian_version) {
  std::string v = debian_version;
  if (auto colon = v.find(':'); colon != std::string::npos) v.erase(0, colon + 1);
  return v.substr(0, v.find('-'));
}

int compare_upstream(const std::string& a, const std::string& b) {
  const auto x = numbers(a), y = numbers(b);
  for (size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
    const unsigned long p = i < x.size() ? x[i] : 0, q = i < y.size() ? y[i] : 0;
    if (p != q) return p < q ? -1 : 1;
  }
  return 0;
}

bool package_before(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t x = i, y = j;
      while (x < a.size() && digit(a[x])) ++x;
      while (y < b.size() && digit(b[y])) ++y;
      const auto p = std::stoull(a.substr(i, x - i)), q = std::stoull(b.substr(j, y - j));
      if (p != q) return p < q;
      i = x;
      j = y;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::vector<SeriesHistory> series_history(const CaseInfo& c,
                                          const std::vector<std::pair<std::string, std::string>>& outcomes) {
  std::vector<SeriesHistory> out;
  for (const auto& ctl : c.controls) {
    auto s = parse_kernel_series(ctl.kernel);
    if (!s || std::any_of(out.begin(), out.end(), [&](const SeriesHistory& h) { return h.series == s->spec(); }))
      continue;
    SeriesHistory h{s->spec(), "", ""};
    for (const auto& [pkg, outcome] : outcomes) {
      if (!package_in_series(pkg, *s)) continue;
      if (outcome == "FAIL" && (h.newest_fail.empty() || package_before(h.newest_fail, pkg))) h.newest_fail = pkg;
      if (outcome == "PASS" && (h.first_pass.empty() || package_before(pkg, h.first_pass))) h.first_pass = pkg;
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::string_view to_string(FixCheck::State s) {
  switch (s) {
    case FixCheck::State::carried: return "carried";
    case FixCheck::State::partial: return "partial";
    case FixCheck::State::lacking: return "lacking";
    default: return "";
  }
}

FixCheck check_fixes(const std::string& changelog, const std::string& upstream, const std::string& source,
                     const std::vector<Commit>& fixes) {
  FixCheck out;
  if (fixes.empty()) return out;
  std::vector<std::string> have, lack;
  for (const auto& c : fixes) {
    // Debian lists a stable commit by its subject ("    - ext4: fix racy ...").
    if (!c.subject.empty() && changelog.find(c.subject) != std::string::npos)
      have.push_back(short_hash(c));
    else if (!c.mainline.empty() && !upstream.empty() && compare_upstream(upstream, c.mainline) >= 0)
      have.push_back(short_hash(c) + " (mainline " + c.mainline + ")");
    else
      lack.push_back(short_hash(c));
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (lack.empty()) {
    out.state = FixCheck::State::carried;
    out.text = "carries " + join(have);
  } else if (have.empty()) {
    out.state = FixCheck::State::lacking;
    out.text = "lacks " + join(lack);
  } else {
    out.state = FixCheck::State::partial;
    out.text = "carries " + join(have) + ", lacks " + join(lack);
  }
  out.text += " (" + source + ")";
  return out;
}

FixCheck check_fixes_in_package(const std::string& package_dir, const std::string& package,
                                const std::vector<Commit>& fixes) {
  if (fixes.empty()) return {};
  const std::string doc = package_dir + "/usr/share/doc/" + package;
  std::error_code ec;
  if (!fs::exists(doc + "/changelog.Debian.gz", ec)) return {};
  auto text = run_command({"gzip", "-dc", doc + "/changelog.Debian.gz"}, std::chrono::seconds(60));
  if (!text.ok()) return {};
  // The first line: "linux-signed-amd64 (6.1.192-3) bookworm-security; urgency=high".
  const std::string first = text.output.substr(0, text.output.find('\n'));
  std::string version;
  if (auto open = first.find('('), close = first.find(')'); open != std::string::npos && close > open)
    version = first.substr(open + 1, close - open - 1);
  return check_fixes(text.output, upstream_of(version), "changelog " + version, fixes);
}

std::string fix_disagreement(const CaseResult& r) {
  if (r.verdict == Verdict::fail && r.kernel_fix_state == "carried")
    return "FAIL, though the kernel " + r.kernel_fix;
  if (r.verdict == Verdict::pass && r.kernel_fix_state == "lacking")
    return "PASS, though the kernel " + r.kernel_fix;
  return "";
}

namespace {

// Whether a control's kernel names this package (itself, or its series).
bool control_names(const Control& ctl, const std::string& package) {
  if (ctl.kernel == package) return true;
  auto s = parse_kernel_series(ctl.kernel);
  return s && package_in_series(package, *s);
}

bool fix_not_needed(const CaseInfo& info, const CaseResult& r, const std::string& package) {
  if (r.variant.empty()) return false;
  for (const auto& ctl : info.controls)
    if (ctl.expect == Verdict::pass && control_names(ctl, package) &&
        std::find(ctl.variants.begin(), ctl.variants.end(), r.variant) != ctl.variants.end())
      return true;
  return false;
}

}  // namespace

void check_fixes_of_results(std::vector<CaseResult>& results, const std::string& package_dir,
                            const std::string& package) {
  for (auto& r : results) {
    const CaseInfo* info = Registry::instance().find(r.name);
    if (!info) continue;
    const FixCheck f = check_fixes_in_package(package_dir, package, info->fixed_by);
    r.kernel_fix_state = std::string(to_string(f.state));
    r.kernel_fix = f.text;
    if (f.state == FixCheck::State::lacking) mark_fix_not_needed(r, package);
  }
}

void mark_fix_not_needed(CaseResult& r, const std::string& package) {
  const CaseInfo* info = Registry::instance().find(r.name);
  if (!info || r.kernel_fix_state != "lacking" || !fix_not_needed(*info, r, package)) return;
  r.kernel_fix_state = "not needed";
  r.kernel_fix += "; this variant is declared to pass without it";
}

}  // namespace diorace
