// SPDX-License-Identifier: GPL-2.0-or-later
// The VM runner's parts shared between its files (not part of the API).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "diorace/kconfig.hpp"
#include "diorace/outcome.hpp"
#include "diorace/vm.hpp"

namespace diorace::detail {

// The first entry of dir whose name starts with prefix (sorted), or "".
std::string find_first(const std::string& dir, const std::string& prefix);

// Copies the modules the guest needs (its buses and filesystems) and their
// dependencies into dest; returns the order the guest's init loads them in.
// A filesystem other than the scratch disk's gets its own order in
// dest/fs.TYPE, loaded by the guest when it first mounts that type.
std::vector<std::string> stage_modules(const VmOptions& o, const std::string& modules_dir,
                                       const std::optional<KernelConfig>& cfg, const std::string& dest);

// The console's last n lines.
std::string tail_lines(const std::string& text, size_t n);
// The console around a crash that starts at `at`, bounded.
std::string crash_excerpt(const std::string& console, size_t at);
// Where the console shows a kernel crash (panic, Oops, BUG), with its headline.
std::optional<size_t> find_crash(const std::string& console, std::string& what);
// The verdict on a case a guest crash interrupted: FAIL crash with the
// console's excerpt as evidence (the VM runner and LAVA imports alike).
void fail_with_crash(CaseResult& r, const std::string& console, size_t at, const std::string& what);

}  // namespace diorace::detail
