// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/kconfig.hpp"

#include <sys/utsname.h>
#include <xxhash.h>

#include <cstdio>
#include <sstream>

#include <fmt/format.h>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"

namespace diorace {

KernelConfig KernelConfig::parse(const std::string& text, std::string source) {
  KernelConfig c;
  c.source_ = std::move(source);
  c.digest_ = fmt::format("{:016x}", XXH3_64bits(text.data(), text.size()));
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CONFIG_", 0) == 0) {
      auto eq = line.find('=');
      if (eq != std::string::npos) c.values_[line.substr(0, eq)] = line.substr(eq + 1);
    } else if (line.rfind("# CONFIG_", 0) == 0) {
      auto end = line.find(" is not set");
      if (end != std::string::npos) c.values_[line.substr(2, end - 2)] = std::string(1, 'n');
    }
  }
  return c;
}

std::optional<KernelConfig> KernelConfig::load(const std::string& explicit_path) {
  std::string text;
  if (!explicit_path.empty()) {
    if (!try_read_file(explicit_path, text)) return std::nullopt;
    return parse(text, explicit_path);
  }
  if (::access("/proc/config.gz", R_OK) == 0) {
    auto r = run_command({"gzip", "-dc", "/proc/config.gz"});
    if (r.ok()) return parse(r.output, "/proc/config.gz");
  }
  utsname u{};
  if (::uname(&u) == 0) {
    std::string p = std::string("/boot/config-") + u.release;
    if (try_read_file(p, text)) return parse(text, p);
  }
  return std::nullopt;
}

std::string KernelConfig::value(const std::string& symbol) const {
  auto it = values_.find(symbol);
  return it == values_.end() ? "" : it->second;
}

}  // namespace diorace
