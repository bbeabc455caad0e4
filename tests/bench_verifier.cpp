// SPDX-License-Identifier: GPL-2.0-or-later
// Verifier throughput against memcmp per buffer size, as JSON (ci/bench).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "diorace/pattern.hpp"

int main() {
  nlohmann::json out = nlohmann::json::array();
  for (size_t kib : {4, 64, 1024, 8192, 65536}) {
    auto s = diorace::measure_verifier_speed(kib << 10);
    out.push_back({{"bytes", s.bytes}, {"verifier_gbps", s.verifier_gbps}, {"memcmp_gbps", s.memcmp_gbps}});
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
