// SPDX-License-Identifier: GPL-2.0-or-later
// `diorace vm --boots N --jobs M -- explore ...`: the explorer over several
// boots of one kernel, M at once, each with its own seed; a line per boot
// and a summary of which finding signatures showed in how many boots and how
// soon (the explorer's "median time to first finding over boots").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace diorace {

struct ExploreBootsOptions {
  std::vector<std::string> host_args;     // `diorace vm` arguments, without --boots, --jobs, --json, --console-log
  std::vector<std::string> explore_args;  // after "explore", without --seed
  uint64_t seed = 0;                      // boot k runs with seed + k
  uint64_t boots = 1, jobs = 1;
  unsigned cpus = 2;
};

// Returns the exit code: 1 when any boot found something, 2 when a boot
// failed otherwise (and none found anything), 0 when all were clean.
int run_explore_boots(const ExploreBootsOptions& o);

}  // namespace diorace
