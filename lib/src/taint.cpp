// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/taint.hpp"

#include <cstdlib>

#include "diorace/fd.hpp"

namespace diorace {

namespace {
struct Flag {
  char letter;
  const char* meaning;
};
// Documentation/admin-guide/tainted-kernels.rst, bit order.
constexpr Flag kFlags[] = {
    {'P', "proprietary module"}, {'F', "module force loaded"}, {'S', "out-of-spec system"},
    {'R', "module force unloaded"}, {'M', "machine check"}, {'B', "bad page"},
    {'U', "user request"}, {'D', "kernel died (oops/BUG)"}, {'A', "ACPI table overridden"},
    {'W', "kernel warning"}, {'C', "staging driver"}, {'I', "firmware workaround"},
    {'O', "out-of-tree module"}, {'E', "unsigned module"}, {'L', "soft lockup"},
    {'K', "live patched"}, {'X', "auxiliary"}, {'T', "randstruct"}, {'N', "test"},
    {'J', "fwctl"},
};
}  // namespace

std::string taint_path() {
  const char* p = std::getenv("DIORACE_TAINT_FILE");
  return p && *p ? p : "/proc/sys/kernel/tainted";
}

std::optional<uint64_t> read_taint() {
  std::string s;
  if (!try_read_file(taint_path(), s)) return std::nullopt;
  try {
    return std::stoull(s);
  } catch (...) {
    return std::nullopt;
  }
}

std::string taint_letters(uint64_t flags) {
  std::string s;
  for (size_t i = 0; i < std::size(kFlags); ++i)
    if (flags & (1ULL << i)) s += kFlags[i].letter;
  return s;
}

std::string describe_taint(uint64_t flags) {
  std::string s;
  for (size_t i = 0; i < std::size(kFlags); ++i)
    if (flags & (1ULL << i)) {
      if (!s.empty()) s += ", ";
      s += std::string(1, kFlags[i].letter) + " (" + kFlags[i].meaning + ")";
    }
  return s;
}

}  // namespace diorace
