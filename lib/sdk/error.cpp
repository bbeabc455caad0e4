// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/error.hpp"

#include <cerrno>

namespace diorace {

void throw_errno(const std::string& what) { throw_errno(errno, what); }

void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

bool is_unsupported_errno(int err) noexcept {
  return err == ENOSYS || err == EPERM || err == EINVAL || err == EOPNOTSUPP || err == EACCES;
}

}  // namespace diorace
