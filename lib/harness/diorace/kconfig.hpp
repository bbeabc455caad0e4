// SPDX-License-Identifier: GPL-2.0-or-later
// The running (or guest) kernel's configuration, to say whether the detectors
// a case's verdict needs (KCSAN, lockdep, ...) are armed.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace diorace {

class KernelConfig {
 public:
  // Parses "CONFIG_X=y" / "# CONFIG_X is not set" text.
  static KernelConfig parse(const std::string& text, std::string source);
  // --kconfig FILE, else /proc/config.gz, else /boot/config-$(uname -r);
  // nullopt when none is readable.
  static std::optional<KernelConfig> load(const std::string& explicit_path = "");

  [[nodiscard]] std::string value(const std::string& symbol) const;  // "" when unset
  [[nodiscard]] bool enabled(const std::string& symbol) const { return value(symbol) == "y"; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  [[nodiscard]] const std::string& digest() const noexcept { return digest_; }  // xxh64 of the text
  [[nodiscard]] size_t size() const noexcept { return values_.size(); }

 private:
  std::map<std::string, std::string> values_;
  std::string source_;
  std::string digest_;
};

// Debug features that kernel testers care about, reported in run metadata.
inline const std::vector<std::string> kKnownDetectors = {
    "CONFIG_KCSAN", "CONFIG_KASAN", "CONFIG_PROVE_LOCKING", "CONFIG_DEBUG_ATOMIC_SLEEP",
    "CONFIG_DETECT_HUNG_TASK", "CONFIG_SOFTLOCKUP_DETECTOR", "CONFIG_HARDLOCKUP_DETECTOR",
    "CONFIG_UBSAN", "CONFIG_KPROBE_EVENTS"};

}  // namespace diorace
