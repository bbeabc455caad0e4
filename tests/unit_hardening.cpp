// SPDX-License-Identifier: GPL-2.0-or-later
// Hardening II at the unit level: the owed-result oracle's environment rule,
// the emulator-artifact signatures (TCG only), stopped tasks, and the LAVA
// importer fed hostile logs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <sstream>
#include <string>

#include "diorace/emulator.hpp"
#include "diorace/klog.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/hang.hpp"
#include "diorace/lava.hpp"
#include "diorace/oracles.hpp"
#include "diorace/outfile.hpp"

using namespace diorace;

// Defect 3: ENOSPC was reported as a kernel bug.
TEST(OwedResult, EnvironmentErrnosAreErrorsOtherResultsAreFindings) {
  const nlohmann::json ctx = {{"file", "f"}};
  for (int e : {ENOSPC, EDQUOT, ENOMEM, EMFILE, ENFILE})
    EXPECT_THROW((void)check_owed("pwrite", -e, 4096, ctx, "why"), EnvironmentError) << e;
  // What a correct kernel never returns here stays a finding.
  for (int64_t got : {int64_t{-ERANGE}, int64_t{-EIO}, int64_t{0}, int64_t{4095}}) {
    auto f = check_owed("pwrite", got, 4096, ctx, "why");
    ASSERT_TRUE(f.has_value()) << got;
    EXPECT_EQ(f->kind, FailKind::wrong_result);
  }
  EXPECT_FALSE(check_owed("pwrite", 4096, 4096, ctx, "why").has_value());
  // A rule of its own: an oracle that owes ENOSPC itself can say so.
  OwedRule none{.environment = {}};
  EXPECT_TRUE(check_owed("pwrite", -ENOSPC, 4096, ctx, "why", none).has_value());
}

namespace {

// Debian 6.12.118 under TCG (this machine): a stray single-step #DB.
const char* kTcgDb =
    "------------[ cut here ]------------\n"
    "WARNING: CPU: 0 PID: 1445 at arch/x86/kernel/traps.c:1120 exc_debug_kernel+0xca/0x160\n"
    "Modules linked in: loop virtio_blk\n"
    "RIP: 0010:exc_debug_kernel+0xca/0x160\n"
    "EFLAGS: bfe82342\n"
    " copy_process+0x1/0x2\n"
    "---[ end trace 0000000000000000 ]---";

CaseResult splat_fail(const std::string& text, const std::string& title) {
  CaseResult r;
  r.name = "ipi_storm";
  Splat s{"warning", title, text};
  r.events.push_back(KernelReportEvent{s, false});
  r.events.push_back(TaintEvent{"W", "W (kernel warning)"});
  r.fail(FailKind::splat, "kernel log: [warning] " + title);
  r.failures = 1;
  return r;
}

}  // namespace

// Defect 5: an emulator artifact became a FAIL.
TEST(EmulatorArtifacts, OnlyUnderTcgAndOnlyWhenTheArtifactIsTheWholeEvidence) {
  const std::string title = "WARNING: CPU: 0 PID: 1445 at arch/x86/kernel/traps.c:1120 exc_debug_kernel+0xca/0x160";
  RunRecord rec;
  rec.cases = {splat_fail(kTcgDb, title)};
  rec.exit_code = kExitFailed;
  // KVM or a run on this machine: the FAIL stands.
  RunRecord kvm = rec;
  EXPECT_FALSE(reclassify_emulator_artifacts(kvm, "kvm"));
  EXPECT_EQ(kvm.cases[0].verdict, Verdict::fail);
  EXPECT_FALSE(reclassify_emulator_artifacts(kvm, ""));
  // TCG: ERROR "emulator artifact", evidence kept, exit code follows.
  RunRecord tcg = rec;
  EXPECT_TRUE(reclassify_emulator_artifacts(tcg, "tcg"));
  EXPECT_EQ(tcg.cases[0].verdict, Verdict::error);
  EXPECT_EQ(tcg.cases[0].reason.rfind("emulator artifact under TCG", 0), 0u) << tcg.cases[0].reason;
  EXPECT_EQ(tcg.cases[0].events.size(), 2u);
  EXPECT_EQ(tcg.exit_code, kExitError);
  // Another report beside it, or corruption, keeps the FAIL.
  CaseResult two = splat_fail(kTcgDb, title);
  two.events.push_back(KernelReportEvent{Splat{"warning", "WARNING: at fs/ext4/inode.c:1 ext4_x", "x"}, false});
  EXPECT_FALSE(reclassify_emulator_artifacts(two));
  CaseResult cor = splat_fail(kTcgDb, title);
  cor.events.push_back(CorruptionEvent{});
  EXPECT_FALSE(reclassify_emulator_artifacts(cor));
  // The explorer's copy of the same record (a kmsg finding with its program)
  // is judged like the report; a model finding beside it keeps the FAIL.
  CaseResult ex = splat_fail(kTcgDb, title);
  ex.events.push_back(FindingEvent{kernel_report_finding(*parse_kernel_report("4,1,2,-;" + title)), 7});
  EXPECT_TRUE(reclassify_emulator_artifacts(ex));
  CaseResult model = splat_fail(kTcgDb, title);
  Finding data;
  data.oracle = "data";
  model.events.push_back(FindingEvent{data, 7});
  EXPECT_FALSE(reclassify_emulator_artifacts(model));
  // A warning elsewhere in traps.c is not this artifact.
  EXPECT_FALSE(emulator_artifact("WARNING: at arch/x86/kernel/traps.c:700 exc_general_protection").has_value());
  EXPECT_TRUE(emulator_artifact(kTcgDb).has_value());
}

namespace {
// A child sleeping in pause(), the leader of its own process group.
pid_t sleeping_group() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    for (;;) ::pause();
  }
  ::setpgid(pid, pid);
  ::usleep(50000);
  return pid;
}
}  // namespace

// Defect 4: a stopped task was called hung.
TEST(StoppedTasks, AStoppedGroupIsSeenAndARunningOneIsNot) {
  const pid_t pid = sleeping_group();
  EXPECT_EQ(stopped_tasks(pid), "");
  ::kill(pid, SIGSTOP);
  std::string s;
  for (int i = 0; i < 100 && s.empty(); ++i, ::usleep(10000)) s = stopped_tasks(pid);
  EXPECT_NE(s.find("state T"), std::string::npos) << s;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// A child that exited at its deadline, a zombie not yet reaped, was called
// hung (uffd_dio_release, a 6.12.107 TCG guest under load: "state Z").
TEST(StoppedTasks, AnExitedChildIsNoHangAndASleepingOneIs) {
  const pid_t pid = sleeping_group();
  EXPECT_FALSE(snapshot_process_group(pid).all_exited);
  ::kill(pid, SIGKILL);
  HangSnapshot z = snapshot_process_group(pid);
  for (int i = 0; i < 100 && !z.all_exited; ++i, ::usleep(10000)) z = snapshot_process_group(pid);
  EXPECT_TRUE(z.all_exited) << z.text;
  EXPECT_NE(z.text.find("state Z"), std::string::npos) << z.text;
  ::waitpid(pid, nullptr, 0);
  // The deadline oracle: one that finishes in time is no hang, one that
  // sleeps past it is.
  EXPECT_FALSE(run_with_deadline([] { return 0; }, 5, "a quick child").hung);
  EXPECT_TRUE(run_with_deadline([]() -> int { for (;;) ::pause(); }, 0.2, "a sleeping child").hung);
}

// Defect 11: the importer crashed on a long line (std::regex recursion), a
// long token and a huge number; it must take anything without crashing.
TEST(LavaImport, HostileLogsNeverCrashTheImporter) {
  auto log_of = [](const std::string& msg) {
    return "- {\"dt\": \"2026-12-06T00:00:00\", \"lvl\": \"target\", \"msg\": " + nlohmann::json(msg).dump() + "}\n";
  };
  const std::string panic = "Kernel panic - not syncing: " + std::string(50000, 'x');
  auto rec = lava_import(log_of("diorace: case dma_thread seed 1 start 2") + log_of(panic), "Incomplete", "l", {}, "u");
  ASSERT_EQ(rec.cases.size(), 1u);
  EXPECT_EQ(rec.cases[0].name, "dma_thread");
  EXPECT_EQ(rec.cases[0].verdict, Verdict::fail);
  EXPECT_LE(rec.cases[0].reason.size(), 400u);
  // A marker with a 1 MB token: no case is named after it.
  rec = lava_import(log_of("diorace: case " + std::string(1 << 20, 'a') + " seed 1") + log_of(panic), "", "l", {}, "u");
  ASSERT_EQ(rec.cases.size(), 1u);
  EXPECT_EQ(rec.cases[0].name, "(between cases)");
  // A begin line with a million digits, or with 40.
  for (size_t digits : {size_t{40}, size_t{1} << 20}) {
    rec = lava_import(log_of("DIORACE-DOCUMENT-BEGIN bytes=" + std::string(digits, '9') + " xxh3=00"), "", "l", {}, "u");
    EXPECT_FALSE(rec.complete);
  }
  // Deep nesting (yaml-cpp recurses), random bytes, truncated logs.
  EXPECT_THROW((void)lava_import(std::string(1 << 20, '['), "", "l", {}, "u"), UsageError);
  std::mt19937_64 rng(42);
  std::string noise(1 << 20, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  EXPECT_THROW((void)lava_import(noise, "", "l", {}, "u"), UsageError);
  const std::string good = log_of("diorace: case dma_thread seed 1 start 2") + log_of("PASS  dma_thread: 3 iterations");
  for (size_t cut = 0; cut < good.size(); cut += 7) {
    try {
      (void)lava_import(good.substr(0, cut), "", "l", {}, "u");
    } catch (const UsageError&) {
    }
  }
  for (int i = 0; i < 200; ++i) {
    std::string s = good;
    for (int k = 0; k < 5; ++k) s[rng() % s.size()] = static_cast<char>(rng());
    try {
      (void)lava_import(s, "", "l", {}, "u");
    } catch (const UsageError&) {
    }
  }
}

// CI's run of the ninth session: a 6.1 job's document was "damaged" in its
// log. A kernel message written on the same console breaks into a document
// line ("QUJD[   12.3] loop0: ..." then the rest of the line): the parser
// keeps what came before the kernel's stamp and skips the message's own
// text; anything else in a line is still damage.
TEST(LavaImport, AKernelMessageInsideTheDocumentIsSkippedOtherTextIsDamage) {
  RunRecord rec;
  rec.complete = true;
  rec.exit_code = 0;
  CaseResult c;
  c.name = "dma_thread";
  c.verdict = Verdict::pass;
  c.reason = std::string(300, 'r');  // several base64 lines
  rec.cases.push_back(c);
  const std::string block = lava_document_block(rec);
  std::vector<std::string> lines;
  std::istringstream is(block);
  for (std::string l; std::getline(is, l);) lines.push_back(l);
  ASSERT_GT(lines.size(), 5u);
  auto joined = [](const std::vector<std::string>& ls) {
    std::string out;
    for (const auto& l : ls) out += "+ " + l + "\r\n";  // a console prefix and carriage returns
    return out;
  };
  std::string why;
  ASSERT_TRUE(find_lava_document(joined(lines), why)) << why;
  // Broken in the middle of a line, and a whole message line of its own.
  auto broken = lines;
  const std::string head = broken[2].substr(0, 30), tail = broken[2].substr(30);
  broken[2] = head + "[   12.345678] EXT4-fs (loop1): unmounting filesystem abc";
  broken.insert(broken.begin() + 3, tail);
  broken.insert(broken.begin() + 5, "[   12.400001] loop1: detected capacity change from 0 to 8");
  auto found = find_lava_document(joined(broken), why);
  ASSERT_TRUE(found) << why;
  EXPECT_EQ(found->cases.at(0).reason, c.reason);
  // Other text in a line is damage, never a document.
  auto other = lines;
  other[3] = other[3].substr(0, 20) + " some text abc" + other[3].substr(20);
  EXPECT_FALSE(find_lava_document(joined(other), why));
  EXPECT_NE(why.find("damaged"), std::string::npos) << why;
}

// Defect 7: an output could be the store, the config or another output.
TEST(Outputs, TheSameFileUnderAnyNameIsRefused) {
  char dir[] = "/tmp/diorace-out-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string d = dir, store = d + "/s.sqlite";
  write_file(store, "x");
  EXPECT_THROW(check_distinct_files({{"--json", store}}, {{"--store", store}}), UsageError);
  EXPECT_THROW(check_distinct_files({{"--json", d + "/./s.sqlite"}}, {{"--store", store}}), UsageError);
  EXPECT_THROW(check_distinct_files({{"--json", d + "/new"}, {"--junit", d + "/../" + d.substr(5) + "/new"}}, {}),
               UsageError);
  ASSERT_EQ(::symlink(store.c_str(), (d + "/link").c_str()), 0);
  EXPECT_THROW(check_distinct_files({{"--html", d + "/link"}}, {{"--store", store}}), UsageError);
  EXPECT_NO_THROW(check_distinct_files({{"--json", d + "/a"}, {"--junit", d + "/b"}}, {{"--store", store}}));
  EXPECT_NO_THROW(check_distinct_files({{"--json", "-"}, {"--junit", "-"}}, {{"--store", "none"}}));
  std::filesystem::remove_all(d);
}
