// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace diorace {

Progress::Progress(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_ = std::chrono::steady_clock::now();
}

void Progress::update(uint64_t iteration, uint64_t forks, uint64_t ios) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_).count();
  if (since < (tty_ ? 1.0 : plain_every_)) return;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double fps = static_cast<double>(forks - last_forks_) / since;
  double iops = static_cast<double>(ios - last_ios_) / since;
  std::string line = fmt::format("[{}] iteration {}  {:.0f} s  {:.0f} forks/s  {:.0f} I/Os/s", label_, iteration,
                                 elapsed, fps, iops);
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  drawn_ = tty_;
  last_ = now;
  last_forks_ = forks;
  last_ios_ = ios;
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace diorace
