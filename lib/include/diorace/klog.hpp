// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel log, as the case SDK sees it: which lines open a kernel report
// (a splat), which /dev/kmsg records are the kernel's own (facility 0; a
// process writing to /dev/kmsg gets 1 or above, FACTS.md), and a watch that
// hands a case the reports the kernel logged since the last look (the
// explorer attributes them to the program that was running). The runner's
// own kernel-log oracle (the harness's kmsg.hpp) is built on the same rules.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diorace/fd.hpp"
#include "diorace/oracles.hpp"

namespace diorace {

// Returns the class of a line that opens a splat ("warning", "bug",
// "kasan", "lockdep", "hung_task", ...), or "" for other lines.
std::string classify_kmsg_line(std::string_view line);

// The facility of a /dev/kmsg record ("PRI,SEQ,TS,FLAGS;MSG": PRI >> 3), or
// nullopt for a record that is not of that form. 0 is the kernel's; a line
// written to /dev/kmsg by any process is stored with facility 1 or above.
std::optional<unsigned> kmsg_record_facility(std::string_view record);

struct KernelReport {
  std::string cls;       // classify_kmsg_line's
  std::string headline;  // the record's message
  std::string where;     // "ext4_journal_check_start" from "... at fs/ext4/ext4_jbd2.c:75 ext4_journal_check_start+0x56/0x90"
};

// The report a /dev/kmsg record opens (kernel records only), or nullopt.
[[nodiscard]] std::optional<KernelReport> parse_kernel_report(std::string_view record);
// The function a report's message names ("... at fs/ext4/ext4_jbd2.c:75
// ext4_journal_check_start+0x56/0x90" -> "ext4_journal_check_start"), or "".
[[nodiscard]] std::string kernel_report_where(std::string_view message);

// The pid a hung-task report names ("INFO: task kworker/u4:2:123 blocked
// for more than 120 seconds." -> 123), or nullopt.
[[nodiscard]] std::optional<long> hung_task_pid(std::string_view headline);

// A kernel report as the explorer's finding (oracle "kmsg", kind splat,
// class "splat:CLS", shape: the function it names): attributed to the
// program that ran when it was logged.
[[nodiscard]] Finding kernel_report_finding(const KernelReport& r);

// Reports the kernel logged after open() (kernel records only).
class KernelLogWatch {
 public:
  // nullopt when /dev/kmsg cannot be read here (then nothing is watched).
  [[nodiscard]] static std::optional<KernelLogWatch> open(const std::string& path = "/dev/kmsg");
  // The reports since the last call (never blocks).
  std::vector<KernelReport> drain();

 private:
  UniqueFd fd_;
};

}  // namespace diorace
