// SPDX-License-Identifier: GPL-2.0-or-later
// A progress line for long runs: rewritten in place on a terminal, a plain
// line every `plain_every` seconds otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace diorace {

class Progress {
 public:
  explicit Progress(std::string label, bool enabled = true);
  ~Progress() { finish(); }
  void update(uint64_t iteration, uint64_t forks, uint64_t ios);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
  uint64_t last_forks_ = 0, last_ios_ = 0;
  double plain_every_ = 10.0;
};

}  // namespace diorace
