// SPDX-License-Identifier: GPL-2.0-or-later
// FIFREEZE held by a process of its own, so that the thaw does not depend on
// the caller surviving: the guardian thaws when told, when the caller's end
// of the pipe closes (the caller died, even by SIGKILL), or at its deadline.
// loop_dio_freeze freezes the backing filesystem of a loop device with it;
// the explorer's freeze operation too.
#pragma once
#include <cstdint>
#include <string>

#include "diorace/fd.hpp"
#include "diorace/process.hpp"

namespace diorace {

class FreezeGuardian {
 public:
  // Freezes the filesystem of dir and returns once it is frozen. Throws
  // SkipError when the filesystem cannot be frozen (EOPNOTSUPP, EINVAL),
  // std::system_error otherwise (EBUSY: frozen already).
  [[nodiscard]] static FreezeGuardian freeze(const std::string& dir, int max_ms);
  FreezeGuardian(FreezeGuardian&&) noexcept = default;
  FreezeGuardian& operator=(FreezeGuardian&&) = delete;
  ~FreezeGuardian() { thaw(); }
  // Thaws and reaps the guardian; true when the thaw succeeded.
  bool thaw() noexcept;
  // After thaw(): CLOCK_MONOTONIC (ns) just before the guardian's FITHAW,
  // whatever made it thaw (the word, the caller's end closing, its
  // deadline); 0 when it did not say. The filesystem was frozen from
  // freeze()'s return up to this instant: an oracle's window ends here at
  // the latest, not where the caller asked for the thaw.
  [[nodiscard]] int64_t thawed_at_ns() const noexcept { return thawed_at_ns_; }

 private:
  FreezeGuardian() = default;
  ChildProcess child_;
  UniqueFd cmd_, ack_;
  int64_t thawed_at_ns_ = 0;
};

}  // namespace diorace
