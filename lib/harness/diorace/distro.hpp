// SPDX-License-Identifier: GPL-2.0-or-later
// Kernels as a distribution ships them: a series ("debian:6.1-cloud-amd64")
// names the newest package of that series the configured apt sources offer,
// and a package's own changelog says which fixing commits it carries.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "diorace/outcome.hpp"
#include "diorace/registry.hpp"

namespace diorace {

// "debian:SERIES-FLAVOUR": SERIES is an upstream series (6.1, 6.12), FLAVOUR
// the package flavour (amd64, cloud-amd64, rt-amd64). nullopt for anything
// else (a package name, an image path).
struct KernelSeries {
  std::string series, flavour;
  [[nodiscard]] std::string spec() const { return "debian:" + series + "-" + flavour; }
};
std::optional<KernelSeries> parse_kernel_series(const std::string& spec);

// Whether a package name belongs to a series: linux-image-SERIES.N[-ABI]
// [+debN]-FLAVOUR-unsigned.
bool package_in_series(const std::string& package, const KernelSeries& s);

struct ResolvedKernel {
  std::string package, version;  // linux-image-6.1.0-57-cloud-amd64-unsigned, 6.1.192-3
};
// The newest package of the series (by Debian version order, dpkg
// --compare-versions) among those `apt-cache` knows; SetupError when none.
ResolvedKernel resolve_kernel_series(const KernelSeries& s);
// A kernel as a proof or a VM names it: a series resolves to its newest
// package, anything else stays as it is.
std::string resolve_kernel_name(const std::string& name);

// The upstream version of a Debian package version: "6.1.192-3" -> "6.1.192".
std::string upstream_of(const std::string& debian_version);
// Release order of upstream versions ("6.1.192" < "6.12.7" < "v6.15").
int compare_upstream(const std::string& a, const std::string& b);

// Package names in release order: digit runs compare as numbers
// (linux-image-6.1.0-9 < linux-image-6.1.0-57, 6.12.99 < 6.12.118).
bool package_before(const std::string& a, const std::string& b);

// Per series a case's controls name: the newest package it failed on and
// the first it passed on, among (package, outcome) results.
struct SeriesHistory {
  std::string series, newest_fail, first_pass;
};
std::vector<SeriesHistory> series_history(const CaseInfo& c,
                                          const std::vector<std::pair<std::string, std::string>>& outcomes);

// Whether a kernel carries a case's fixing commits.
struct FixCheck {
  enum class State { unknown, carried, partial, lacking } state = State::unknown;
  std::string text;  // "lacks ce56d21355cd (changelog of linux-image-... 6.1.192-3)"
};
// From an unpacked package (its usr/share/doc/*/changelog.Debian.gz, which
// lists every stable commit by subject; a fix merged upstream before the
// package's upstream version is carried without being listed).
FixCheck check_fixes_in_package(const std::string& package_dir, const std::string& package,
                                const std::vector<Commit>& fixes);
// From a changelog's text and the package's upstream version (the test seam).
FixCheck check_fixes(const std::string& changelog, const std::string& upstream, const std::string& source,
                     const std::vector<Commit>& fixes);
std::string_view to_string(FixCheck::State s);

// A verdict that disagrees with what the kernel carries (CaseResult's
// kernel_fix): a FAIL where every fix is carried, a PASS where the fixes are
// lacking. Empty when they agree or nothing is known.
std::string fix_disagreement(const CaseResult& r);
// Sets each result's kernel_fix from the package (unpacked in package_dir)
// and the registry's fixing commits of its case.
void check_fixes_of_results(std::vector<CaseResult>& results, const std::string& package_dir,
                            const std::string& package);
// A variant declared to PASS on this kernel though others of its case fail
// there (uring_fork's registered buffers) does not need the fix: its
// "lacking" becomes "not needed" (also applied to records stored before).
void mark_fix_not_needed(CaseResult& r, const std::string& package);

}  // namespace diorace
