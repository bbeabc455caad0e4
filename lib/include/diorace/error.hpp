// SPDX-License-Identifier: GPL-2.0-or-later
// Errors are converted once, at the syscall boundary. Three kinds matter to a
// kernel tester because they map to different outcomes:
//   UsageError  - the user asked for something invalid        -> exit 2
//   SkipError   - this kernel or target cannot run the case    -> SKIP
//   std::system_error / SetupError - harness or set-up problem -> ERROR
#pragma once
#include <stdexcept>
#include <string>
#include <system_error>

namespace diorace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct SkipError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct SetupError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The environment failed the case (a full filesystem, a quota, no memory, no
// file descriptors, no thread): ERROR naming the environment, never FAIL.
struct EnvironmentError : SetupError {
  using SetupError::SetupError;
};

// Throws std::system_error for errno with a message naming the operation.
[[noreturn]] void throw_errno(const std::string& what);
[[noreturn]] void throw_errno(int err, const std::string& what);

// For thin wrappers returning -errno (liburing style).
inline int check_neg_errno(int ret, const std::string& what) {
  if (ret < 0) throw_errno(-ret, what);
  return ret;
}
inline long check_errno(long ret, const std::string& what) {
  if (ret < 0) throw_errno(what);
  return ret;
}

// True for the errors that mean "this kernel or environment lacks the feature"
// when returned by a set-up call (io_uring_setup, io_setup, open(O_DIRECT)).
bool is_unsupported_errno(int err) noexcept;

}  // namespace diorace
