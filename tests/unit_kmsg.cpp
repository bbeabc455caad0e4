// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel-log classifier against real report shapes (seed threads and
// public kernel reports) and against noise that must not match.
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "diorace/kmsg.hpp"
#include "diorace/taint.hpp"

using namespace diorace;

namespace {
std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Seed 000 (io-wq worker->flags), as KCSAN prints it.
const char* kKcsan = R"(==================================================================
BUG: KCSAN: data-race in io_worker_handle_work / io_wq_activate_free_worker

write to 0xffff8885c4246404 of 4 bytes by task 49071 on cpu 28:
 io_worker_handle_work+0x2b3/0x5c0
 io_wq_worker+0x1a4/0x640
 ret_from_fork+0x1f/0x30

read to 0xffff8885c4246404 of 4 bytes by task 49024 on cpu 5:
 io_wq_activate_free_worker+0x45/0x1c0
 io_wq_enqueue+0x5c/0x80
 io_queue_iowq+0x58/0x140

Reported by Kernel Concurrency Sanitizer on:
CPU: 5 PID: 49024 Comm: fio Not tainted 6.9.0-rc6 #1
==================================================================)";

const char* kLockdep = R"(======================================================
WARNING: possible circular locking dependency detected
6.1.0 #1 Not tainted
------------------------------------------------------
kworker/1:2/89 is trying to acquire lock:
ffff888100a4e838 ((wq_completion)dio/vda){+.+.}-{0:0}, at: flush_workqueue+0x8a/0x5d0

but task is already holding lock:
ffff888103d2a0e8 (&sb->s_type->i_mutex_key#12){++++}-{3:3}, at: ext4_dio_write_iter+0x85/0x6b0

stack backtrace:
 dump_stack_lvl+0x45/0x5b
 check_noncircular+0x10c/0x120
 destroy_workqueue+0x2d/0x2b0
 sb_init_dio_done_wq+0x5b/0x70)";

const char* kWarning = R"(------------[ cut here ]------------
WARNING: CPU: 1 PID: 0 at kernel/smp.c:421 smp_call_function_many_cond+0x2a7/0x3a0
Modules linked in: virtio_blk
CPU: 1 PID: 0 Comm: swapper/1 Not tainted 6.1.0 #1
RIP: 0010:smp_call_function_many_cond+0x2a7/0x3a0
Call Trace:
 <TASK>
 on_each_cpu_cond_mask+0x1e/0x30
 </TASK>
---[ end trace 0000000000000000 ]---)";

struct Case {
  const char* text;
  const char* cls;
};
}  // namespace

TEST(KmsgClassifier, RealReportsKeepTheirBlockAndClass) {
  auto s = extract_splats(lines(kKcsan), {});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].cls, "kcsan");
  EXPECT_NE(s[0].title.find("io_worker_handle_work / io_wq_activate_free_worker"), std::string::npos);
  EXPECT_NE(s[0].text.find("io_queue_iowq"), std::string::npos);  // the whole block

  s = extract_splats(lines(kLockdep), {});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].cls, "lockdep");
  EXPECT_NE(s[0].text.find("sb_init_dio_done_wq"), std::string::npos);

  s = extract_splats(lines(kWarning), {});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].cls, "warning");
  EXPECT_NE(s[0].text.find("end trace"), std::string::npos);
}

TEST(KmsgClassifier, EveryClassHeadline) {
  const Case cases[] = {
      {"BUG: KASAN: use-after-free in aio_complete+0x3c/0x2b0", "kasan"},
      {"UBSAN: shift-out-of-bounds in fs/aio.c:1234:5", "ubsan"},
      {"kernel BUG at fs/aio.c:578!", "bug"},
      {"BUG: unable to handle page fault for address: ffffffffffffffe8", "bug"},
      {"Oops: 0000 [#1] PREEMPT SMP NOPTI", "oops"},
      {"general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP", "gpf"},
      {"WARNING: possible recursive locking detected", "lockdep"},
      {"WARNING: inconsistent lock state", "lockdep"},
      {"WARNING: suspicious RCU usage", "lockdep"},
      {"rcu: INFO: rcu_sched self-detected stall on CPU", "rcu_stall"},
      {"rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", "rcu_stall"},
      {"watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [diorace:123]", "soft_lockup"},
      {"Watchdog detected hard LOCKUP on cpu 1", "hard_lockup"},
      {"INFO: task diorace:1234 blocked for more than 120 seconds.", "hung_task"},
      {"smp: csd: Detected non-responsive CSD lock (#1) on CPU#0, waiting 5000000000 ns for CPU#01", "csd_lock"},
      {"Kernel panic - not syncing: sysrq triggered crash", "panic"},
  };
  for (const auto& c : cases) EXPECT_EQ(classify_kmsg_line(c.text), c.cls) << c.text;
}

TEST(KmsgClassifier, NoiseDoesNotMatch) {
  for (const char* noise : {
           "EXT4-fs (vda): mounted filesystem with ordered data mode. Quota mode: none.",
           "random: crng init done",
           "usb 1-1: DEBUG: new high-speed USB device number 2",
           "ACPI Warning: SystemIO range conflicts with OpRegion",
           "virtio_blk virtio1: [vda] 2097152 512-byte logical blocks (1.07 GB/1.00 GiB)",
           "diorace: case dma_thread seed 1 start 123",
           "audit: type=1400 audit(0.0:2): apparmor=\"STATUS\" operation=\"profile_load\"",
           "systemd[1]: Started Journal Service (WARNINGS suppressed).",
       })
    EXPECT_EQ(classify_kmsg_line(noise), "") << noise;
}

TEST(KmsgClassifier, RepeatsFoldAndIgnorePatternsSuppress) {
  std::string two = std::string(kWarning) + "\n" + kWarning;
  for (auto& c : two)
    if (c == '0') c = '0';
  auto s = extract_splats(lines(two), {});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].count, 2u);
  EXPECT_TRUE(extract_splats(lines(kWarning), {"kernel/smp\\.c"}).empty());
}

TEST(Taint, LettersAndOverride) {
  EXPECT_EQ(taint_letters((1 << 9) | (1 << 7)), "DW");
  EXPECT_NE(describe_taint(1 << 9).find("W (kernel warning)"), std::string::npos);
  char path[] = "/tmp/diorace-taint-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "512\n", 4), 4);
  ::close(fd);
  ::setenv("DIORACE_TAINT_FILE", path, 1);
  EXPECT_EQ(read_taint().value_or(0), 512u);
  ::unsetenv("DIORACE_TAINT_FILE");
  ::unlink(path);
}

// Only the kernel's own records (facility 0) are evidence: a line any root
// process writes to /dev/kmsg is stored with the user facility (1).
TEST(KmsgRecord, FacilityTellsTheKernelsRecordsFromUserSpaceLines) {
  EXPECT_EQ(kmsg_record_facility("4,1234,5678901,-;WARNING: CPU: 1 PID: 4242 at kernel/smp.c:912 x").value(), 0u);
  EXPECT_EQ(kmsg_record_facility("0,1,2,-;Kernel panic - not syncing").value(), 0u);
  // "<4>WARNING..." written by root: the kernel stores facility 1, level 4.
  EXPECT_EQ(kmsg_record_facility("12,1235,5678902,-;WARNING: CPU: 1 PID: 4242 at kernel/smp.c:912 x").value(), 1u);
  EXPECT_EQ(kmsg_record_facility("14,1,2,-,caller=T1;x").value(), 1u);
  EXPECT_EQ(kmsg_record_facility("191,1,2,-;local7 line").value(), 23u);
  EXPECT_FALSE(kmsg_record_facility("WARNING: no prefix at all").has_value());
  EXPECT_FALSE(kmsg_record_facility("").has_value());
  EXPECT_FALSE(kmsg_record_facility("99999999999999999999,1;x").has_value());
}
