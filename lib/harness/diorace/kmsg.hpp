// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel-log oracle: capture /dev/kmsg from a marker line diorace writes when
// a case starts, classify splats, keep each whole block, deduplicate repeats.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/evidence.hpp"  // Splat
#include "diorace/fd.hpp"
#include "diorace/klog.hpp"  // classify_kmsg_line, kmsg_record_facility

namespace diorace {


// Groups lines into splat blocks (whole block up to the end of its trace),
// dropping those matching an ignore pattern (ECMAScript regex) and folding
// repeats of the same title (addresses and numbers ignored).
std::vector<Splat> extract_splats(const std::vector<std::string>& lines, const std::vector<std::string>& ignore);


// Test-only: a self-test case's user-space record starts with this, and only
// a capture that accepts self-test records (test-only cases) reads it.
inline constexpr std::string_view kSelftestRecordPrefix = "diorace-selftest ";

class KmsgCapture {
 public:
  // Opens /dev/kmsg (or `path`) at its end and writes the marker. nullopt
  // with `why` set when the log cannot be read or written here.
  static std::optional<KmsgCapture> start(const std::string& marker, std::string& why,
                                          const std::string& path = "/dev/kmsg");
  // Reads the records logged since the last call without waiting (the live
  // watch while a case runs); returns every line seen so far.
  const std::vector<std::string>& poll();
  // Reads every record after the marker written by start(), up to now.
  std::vector<std::string> collect();
  // Test-only cases: also read user records that start with
  // kSelftestRecordPrefix (the self-test's stand-in for a kernel splat).
  void accept_selftest_records() { accept_selftest_records_ = true; }
  // User-space records seen in the window and dropped (not evidence).
  unsigned user_records_dropped() const { return user_records_dropped_; }

 private:
  KmsgCapture(UniqueFd fd, std::string marker) : fd_(std::move(fd)), marker_(std::move(marker)) {}
  // One record into lines_ (line); none ready yet (none); the end marker,
  // end of file or a read error (end).
  enum class Read { line, none, end };
  Read read_record(const std::string& end_marker);
  UniqueFd fd_;
  std::string marker_;
  bool seen_marker_ = false;
  bool accept_selftest_records_ = false;
  unsigned user_records_dropped_ = 0;
  std::vector<std::string> lines_;
};

}  // namespace diorace
