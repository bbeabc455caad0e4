// SPDX-License-Identifier: GPL-2.0-or-later
// The case process and its supervisor (private to the library): see
// case_process.cpp. Used by run_cases() in runner.cpp.
#pragma once
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "diorace/coverage.hpp"
#include "diorace/error.hpp"
#include "diorace/hang.hpp"
#include "diorace/kmsg.hpp"
#include "diorace/outcome.hpp"
#include "diorace/process.hpp"
#include "diorace/registry.hpp"
#include "diorace/run_options.hpp"
#include "diorace/target.hpp"

namespace diorace::detail {

extern volatile sig_atomic_t g_interrupts;
extern "C" void on_interrupt(int);
int64_t mono_ns();
inline constexpr double kMaxDurationS = 366.0 * 86400;
// The shortest hang deadline: below it an iteration that merely sleeps or
// waits for its device (a timer, a throttled disk) would be called hung.
inline constexpr double kMinIterationTimeoutS = 1.0;

// CaseStats in a shared anonymous mapping, so the supervisor sees the
// case process's counters without any message passing.
class SharedStats {
 public:
  SharedStats() {
    void* p = ::mmap(nullptr, sizeof(CaseStats), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap shared stats");
    stats_ = new (p) CaseStats;
  }
  ~SharedStats() {
    stats_->~CaseStats();
    ::munmap(stats_, sizeof(CaseStats));
  }
  SharedStats(const SharedStats&) = delete;
  SharedStats& operator=(const SharedStats&) = delete;
  CaseStats& get() noexcept { return *stats_; }

 private:
  CaseStats* stats_;
};

// Installs the SIGINT/SIGTERM/SIGHUP handlers for the duration of a run.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupts = 0;
    struct sigaction sa{};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
    ::sigaction(SIGHUP, &sa, &old_hup_);  // a closed terminal stops the run like SIGTERM
  }
  ~InterruptGuard() {
    // An interrupted run is ending anyway: a second or third signal that
    // arrives while the program writes its results and exits must not kill
    // it half-way (it exits 2 as interrupted). Otherwise the old handlers.
    struct sigaction ignore{};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    const bool interrupted = g_interrupts != 0;
    ::sigaction(SIGINT, interrupted ? &ignore : &old_int_, nullptr);
    ::sigaction(SIGTERM, interrupted ? &ignore : &old_term_, nullptr);
    ::sigaction(SIGHUP, interrupted ? &ignore : &old_hup_, nullptr);
  }

 private:
  struct sigaction old_int_{}, old_term_{}, old_hup_{};
};

// Inside a diorace VM guest (the runner's result disk may be written in place).
bool in_vm_guest();
// Why the case cannot run here (a declared need unmet: SKIP), or nullopt.
std::optional<std::string> unmet_need(const CaseInfo& info, const DirectoryTarget& target,
                                      std::optional<std::string>& odirect_cache, bool& odirect_probed);
// The case process: runs the case per its lifecycle contract and writes its
// result as one JSON line to out_fd, then exits.
[[noreturn]] void case_child(const CaseInfo& info, const ParamValues& params, const std::string& variant,
                             const DirectoryTarget& target, uint64_t seed, CaseStats& stats, const RunOptions& opts,
                             const KprobeSet* probes, int out_fd);

// Which kernel reports decide a case: its own race, and every report that is
// not another detector's data race elsewhere (those are unrelated findings,
// unless --strict-kmsg).
struct KmsgJudge {
  std::vector<std::string> ignore;
  std::vector<std::regex> own;
  bool strict = false;
  KmsgJudge(const CaseInfo& info, const RunOptions& opts) : ignore(opts.kmsg_ignore), strict(opts.strict_kmsg) {
    ignore.insert(ignore.end(), info.kmsg_ignore.begin(), info.kmsg_ignore.end());
    for (const auto& sig : info.own_signatures) own.emplace_back(sig);
  }
  [[nodiscard]] bool is_own(const Splat& sp) const {
    for (const auto& re : own)
      if (std::regex_search(sp.title, re) || std::regex_search(sp.text, re)) return true;
    return false;
  }
  [[nodiscard]] bool unrelated(const Splat& sp, bool own_race) const { return sp.cls == "kcsan" && !own_race && !strict; }
};

// The live half of the kernel-log oracle: while the case runs, a report that
// decides it is noted with its time, and (without --keep-going) the case is
// stopped at the end of its iteration instead of running out its duration.
struct KmsgWatch {
  KmsgCapture& cap;
  const KmsgJudge& judge;
  size_t seen = 0;
  std::optional<double> detected_s;  // from the first iteration's start; 0: during set-up

  // True when a deciding report was seen by this call.
  bool check(const CaseStats& stats) {
    const auto& lines = cap.poll();
    if (detected_s || lines.size() == seen) return false;
    seen = lines.size();
    for (const auto& sp : extract_splats(lines, judge.ignore)) {
      if (judge.unrelated(sp, judge.is_own(sp))) continue;
      const int64_t started = stats.started_ns.load();
      detected_s = started ? static_cast<double>(mono_ns() - started) / 1e9 : 0.0;
      return true;
    }
    return false;
  }
};

struct Supervision {
  std::string output;
  std::optional<int> wait_status;
  bool hung = false;
  bool interrupted = false;
  HangSnapshot hang;
  std::string stuck;  // processes that survived SIGKILL
  bool stuck_in_d = false;
  std::string stopped;  // stopped or frozen tasks the deadline waited for (not a hang)
  double stopped_wait_s = 0;
};

// An oracle the supervisor runs around the case process: it may decide the
// case while it runs (poll) and adds its verdict and evidence after it.
class SupervisorOracle {
 public:
  virtual ~SupervisorOracle() = default;
  // True when what it saw decides the case: it is stopped at the end of the
  // iteration in progress (unless --keep-going).
  virtual bool poll(const CaseStats&) { return false; }
  virtual void after(CaseResult& r) = 0;
};

// Watches the case process until it ends, hangs or is interrupted.
Supervision supervise(ChildProcess child, int fd, CaseStats& stats, const CaseInfo& info, const RunOptions& opts,
                      const std::vector<std::unique_ptr<SupervisorOracle>>& oracles);
// Whether the case declares this oracle.
bool declares(const CaseInfo& info, Oracle oracle);
// The line written to /dev/kmsg before a case: its window in the log starts there.
std::string marker_for(const CaseInfo& info, uint64_t seed);
// The kernel log of the case's window, classified into its result.
void apply_kmsg(CaseResult& r, KmsgCapture& cap, const KmsgJudge& judge);

}  // namespace diorace::detail
