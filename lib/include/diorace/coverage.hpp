// SPDX-License-Identifier: GPL-2.0-or-later
// Coverage oracle: proves a race window was reached, with tracefs kprobe
// events. A case declares probe points and how their counts per iteration
// translate into "race hits"; diorace creates the probes before the case,
// reads their hit counts around every iteration, and removes them afterwards
// (also on failure and SIGINT: the supervising process owns them). Where
// tracefs or kprobe events are missing the result says "coverage unknown".
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace diorace {

struct ProbeSpec {
  std::string symbol;  // kernel function to probe on entry
  // Race hits from one iteration's count n: "beyond_first" -> max(n - 1, 0)
  // (several threads entered what only one should), "count" -> n.
  std::string meaning = "beyond_first";
};

class KprobeSet {
 public:
  // Creates and enables "p:diorace_<pid>/<symbol> <symbol>" for each spec.
  // nullopt with `why` when tracefs/kprobes are unavailable or a symbol
  // cannot be probed.
  static std::optional<KprobeSet> create(const std::vector<ProbeSpec>& specs, std::string& why);
  KprobeSet(KprobeSet&& o) noexcept : tracefs_(std::move(o.tracefs_)), group_(std::move(o.group_)), specs_(std::move(o.specs_)) {
    o.group_.clear();
  }
  KprobeSet& operator=(KprobeSet&& o) noexcept {
    if (this != &o) {
      remove();
      tracefs_ = std::move(o.tracefs_);
      group_ = std::move(o.group_);
      specs_ = std::move(o.specs_);
      o.group_.clear();
    }
    return *this;
  }
  KprobeSet(const KprobeSet&) = delete;
  ~KprobeSet() { remove(); }

  // Hit counts per symbol, from kprobe_profile.
  [[nodiscard]] std::map<std::string, uint64_t> counts() const;
  // Race hits between two count snapshots, per the specs' meanings.
  [[nodiscard]] uint64_t race_hits(const std::map<std::string, uint64_t>& before,
                                   const std::map<std::string, uint64_t>& after) const;
  void remove() noexcept;
  [[nodiscard]] const std::string& group() const noexcept { return group_; }

 private:
  KprobeSet() = default;
  std::string tracefs_, group_;
  std::vector<ProbeSpec> specs_;
};

// Where tracefs is mounted, or "" (checks /sys/kernel/tracing, then debugfs).
std::string tracefs_root();

}  // namespace diorace
