// SPDX-License-Identifier: GPL-2.0-or-later
// FIFREEZE held by a process of its own, so that the thaw does not depend on
// the caller surviving: the guardian thaws when told, when the caller's end
// of the pipe closes (the caller died, even by SIGKILL), or at its deadline.
// loop_dio_freeze freezes the backing filesystem of a loop device with it;
// the explorer's freeze operation too.
#pragma once
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

 private:
  FreezeGuardian() = default;
  ChildProcess child_;
  UniqueFd cmd_, ack_;
};

}  // namespace diorace
