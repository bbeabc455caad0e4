// SPDX-License-Identifier: GPL-2.0-or-later
// The case process and its supervisor: the process a case runs in (its
// lifecycle, its result on a pipe), the supervisor's loop (deadlines, SIGINT,
// the live kernel-log watch, progress), and the kernel-log classification
// both halves share. run_cases() (runner.cpp) puts them together.
#include "case_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>


#include <fmt/format.h>

#include "diorace/blockdev.hpp"
#include "diorace/config.hpp"
#include "diorace/coverage.hpp"
#include "diorace/device.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "diorace/fd.hpp"
#include "diorace/hang.hpp"
#include "diorace/kconfig.hpp"
#include "diorace/kmsg.hpp"
#include "diorace/outfile.hpp"
#include "diorace/process.hpp"
#include "diorace/progress.hpp"
#include "diorace/registry.hpp"
#include "diorace/taint.hpp"
#include "diorace/tempdir.hpp"
#include "diorace/target.hpp"

namespace diorace::detail {

volatile sig_atomic_t g_interrupts = 0;  // SIGINT/SIGTERM/SIGHUP seen during a run
extern "C" void on_interrupt(int) { g_interrupts = g_interrupts + 1; }

int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

constexpr size_t kMaxEvents = 16;





bool in_vm_guest() {
  const char* g = std::getenv("DIORACE_GUEST");
  return g && std::string(g) == "1" && ::access("/diorace-guest", F_OK) == 0;
}

std::optional<std::string> unmet_need(const CaseInfo& info, const DirectoryTarget& target,
                                      std::optional<std::string>& odirect_cache, bool& odirect_probed) {
  if ((info.needs & kNeedGuest) && !in_vm_guest())
    return "runs only inside a diorace VM guest (diorace vm): it would harm this machine";
  if ((info.needs & kNeedRoot) && ::geteuid() != 0) return "needs root";
  if (info.needs & kNeedODirect) {
    if (!odirect_probed) {
      odirect_cache = target.odirect_unsupported();
      odirect_probed = true;
    }
    if (odirect_cache) return odirect_cache;
  }
  if ((info.needs & kNeedLoop) && ::access("/dev/loop-control", R_OK | W_OK) != 0)
    return std::string("loop devices unavailable: /dev/loop-control: ") + std::strerror(errno);
  if (info.needs & kNeedLibaio)
    if (auto why = engine_unavailable("libaio")) return "libaio unavailable: " + *why;
  if (info.needs & kNeedIoUring) {
    std::string v;
    if (try_read_file("/proc/sys/kernel/io_uring_disabled", v) && std::atoi(v.c_str()) == 2)
      return "io_uring is disabled (kernel.io_uring_disabled=2)";
    if (auto why = engine_unavailable("io_uring")) return "io_uring unavailable: " + *why;
  }
  return std::nullopt;
}

namespace {

// The iterations, until the duration, the count, the stop flag or (without
// --keep-going) the first failure; what they find goes into r.
template <class Elapsed>
void run_iterations(Case& c, CaseContext& ctx, CaseResult& r, const RunOptions& opts, double duration,
                    const KprobeSet* probes, std::optional<Finding>& first_finding, const Elapsed& elapsed) {
  CaseStats& stats = ctx.stats;
  try {
    for (uint64_t i = 0;; ++i) {
      if (stats.stop.load()) break;
      if (opts.iterations && i >= *opts.iterations) break;
      if (duration > 0 && elapsed() >= duration) break;
      stats.iteration.store(i);
      stats.iteration_started_ns.store(mono_ns());
      std::map<std::string, uint64_t> before;
      if (probes) before = probes->counts();
      auto corruptions = c.iterate(ctx, i);
      auto findings = std::exchange(ctx.findings, {});
      if (probes) r.race_hits += probes->race_hits(before, probes->counts());
      r.iterations = i + 1;
      if (corruptions.empty() && findings.empty()) continue;
      if (r.failures++ == 0) {
        r.first_failure_s = elapsed();
        if (corruptions.empty()) first_finding = findings.front();
      }
      for (auto& cor : corruptions) {
        if (r.events.size() >= kMaxEvents) break;
        r.events.push_back(CorruptionEvent{std::move(cor), i});
      }
      for (auto& f : findings) {
        if (r.events.size() >= kMaxEvents) break;
        r.events.push_back(FindingEvent{std::move(f), i});
      }
      if (!opts.keep_going) break;
    }
  } catch (const SkipError& e) {
    r.verdict = Verdict::skip;
    r.reason = e.what();
  } catch (const std::exception& e) {
    r.verdict = Verdict::error;
    r.reason = fmt::format("iteration {} failed: {}", stats.iteration.load(), e.what());
  }
}

// The metadata is the truth: a finding of an oracle the case does not
// declare is the harness's error (the case and its metadata disagree),
// never a verdict on the kernel. The oracle's name, or nullopt.
std::optional<std::string> undeclared_oracle(const CaseResult& r, const CaseInfo& info) {
  for (const auto& ev : r.events) {
    if (std::holds_alternative<CorruptionEvent>(ev) && !declares(info, Oracle::data)) return "data";
    if (const auto* f = std::get_if<FindingEvent>(&ev)) {
      const auto o = oracle_from_name(f->what.oracle);
      if (!o || !declares(info, *o)) return f->what.oracle.empty() ? "(unnamed)" : f->what.oracle;
    }
  }
  return std::nullopt;
}

// Corruption in data read from a fixture is evidence against the kernel
// only while the fixture itself is intact: the same sectors are re-read.
std::optional<std::string> damaged_fixture(const CaseResult& r, const DirectoryTarget& target) {
  for (const auto& ev : r.events)
    if (auto* c = std::get_if<CorruptionEvent>(&ev))
      if (auto d = target.fixture_damage(c->what.file, c->what.offset, c->what.length)) return d;
  return std::nullopt;
}

// The case's verdict from what its iterations found.
void decide(CaseResult& r, const std::optional<std::string>& undeclared, const std::optional<std::string>& damaged,
            const std::optional<Finding>& first_finding, bool stopped, double duration) {
  if (undeclared) {
    r.verdict = Verdict::error;
    r.kind = FailKind::none;
    r.reason = "harness: the case reported a finding of its undeclared oracle '" + *undeclared +
               "' (the metadata is the truth: declare it, or the case is wrong); not a verdict on the kernel";
    r.failures = 0;
    r.first_failure_s.reset();
  } else if (damaged) {
    r.verdict = Verdict::error;
    r.reason = "fixture damaged: " + *damaged + "; not a verdict on the kernel (the fixture is rewritten next run)";
    r.failures = 0;
  } else if (r.failures && first_finding) {
    r.fail(first_finding->kind,
           fmt::format("{} of {} iterations failed; first: {}", r.failures, r.iterations, first_finding->summary));
  } else if (r.failures) {
    const auto* first = r.events.empty() ? nullptr : std::get_if<CorruptionEvent>(&r.events[0]);
    r.fail(FailKind::corruption,
           fmt::format("{} of {} iterations corrupted; first: {} at {} offset 0x{:x}", r.failures, r.iterations,
                       first ? to_string(first->what.cls) : "?", first ? first->what.file : "?",
                       first ? first->what.offset : 0));
  } else if (r.verdict == Verdict::incomplete && r.iterations == 0) {
    // No work done is no evidence of a working kernel.
    r.verdict = Verdict::error;
    r.reason = stopped ? "stopped before its first iteration"
                       : fmt::format("completed no iteration (the duration, {:g} s, ended before the first)", duration);
  } else if (r.verdict == Verdict::incomplete) {
    r.verdict = Verdict::pass;
  }
}

}  // namespace

[[noreturn]] void case_child(const CaseInfo& info, const ParamValues& params, const std::string& variant,
                             const DirectoryTarget& target, uint64_t seed, CaseStats& stats, const RunOptions& opts,
                             const KprobeSet* probes, int out_fd) {
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_DFL);
  // A private mount namespace: whatever the case mounts disappears with its
  // process, also when the hang oracle or a second SIGINT kills it (and the
  // loop devices under those mounts autoclear). Needs root; best effort.
  if (::unshare(CLONE_NEWNS) == 0) (void)::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  CaseResult r;
  r.name = info.name;
  r.variant = variant;
  auto send = [&](const CaseResult& res) {
    nlohmann::json j = res;
    std::string s = j.dump() + "\n";
    try {
      write_all(out_fd, s.data(), s.size(), "result pipe");
    } catch (const std::exception& e) {
      // Not swallowed: said on stderr, and the exit status tells the
      // supervisor ("case process exited with 3 and no result").
      std::fprintf(stderr, "diorace: %s: the result could not be sent: %s\n", res.name.c_str(), e.what());
      ::_exit(3);
    }
    ::_exit(0);
  };
  target.set_stop_flag(&stats.stop);
  CaseContext ctx{info, params, target, seed, stats, variant, std::mt19937_64(seed)};
  std::unique_ptr<Case> c;
  // The lifecycle contract (registry.hpp): teardown() runs after a set-up
  // that threw as after the iterations, and the case object is destroyed
  // before the result is sent and the process exits.
  auto finish = [&] {
    if (c) {
      c->teardown(ctx);
      c.reset();
    }
  };
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  try {
    c = info.make();
    c->setup(ctx);
  } catch (const SkipError& e) {
    r.verdict = Verdict::skip;
    r.reason = e.what();
    finish();
    send(r);
  } catch (const std::exception& e) {
    r.verdict = Verdict::error;
    r.reason = std::string("set-up failed: ") + e.what();
    finish();
    send(r);
  }
  r.setup_s = elapsed();  // fixtures and warm-up: not in first_failure_s, reported beside it
  t0 = std::chrono::steady_clock::now();
  stats.started_ns.store(mono_ns());
  const double duration = opts.duration_s.value_or(opts.iterations ? 0.0 : info.default_duration_s);
  std::optional<Finding> first_finding;  // when the first failed iteration had no corruption
  run_iterations(*c, ctx, r, opts, duration, probes, first_finding, elapsed);
  stats.iteration_started_ns.store(0);
  const auto undeclared = undeclared_oracle(r, info);
  const auto damaged = damaged_fixture(r, target);
  finish();
  r.duration_s = elapsed();
  decide(r, undeclared, damaged, first_finding, stats.stop.load(), duration);
  send(r);
  ::_exit(0);
}





namespace {

// The hang oracle's clock: the iteration deadline (and a long one for
// set-up), armed when the case declares hang. A task stopped by SIGSTOP, a
// debugger, a tracer or the cgroup freezer is held by user space, not by
// the kernel: the clock waits for it and starts again when it resumes.
class HangClock {
 public:
  HangClock(const CaseInfo& info, const RunOptions& opts)
      : armed_(declares(info, Oracle::hang)),
        deadline_(opts.iteration_timeout_s.value_or(info.iteration_timeout_s)),
        setup_deadline_(std::max(600.0, deadline_)),
        setup_started_(mono_ns()),
        name_(info.name) {}

  // True when the group is hung (its snapshot in s); notes stopped tasks in s.
  bool hung(const CaseStats& stats, pid_t pid, Supervision& s) {
    // This supervisor itself was stopped (its whole process tree stopped or
    // frozen, then resumed): a gap between two of its 250 ms looks. The
    // case's clock was not running either: it starts again.
    const int64_t now = mono_ns();
    if (last_look_ && now - last_look_ > 2'000'000'000LL) resumed_at_ = now;
    last_look_ = now;
    if (!armed_ || !past_deadline(stats)) {
      if (stopped_since_) {
        s.stopped_wait_s += static_cast<double>(mono_ns() - stopped_since_) / 1e9;
        stopped_since_ = 0;
      }
      return false;
    }
    if (auto stopped = stopped_tasks(pid); !stopped.empty()) {
      if (!stopped_since_) stopped_since_ = mono_ns();
      if (s.stopped.empty()) {
        s.stopped = stopped;
        std::fprintf(stderr, "%sdiorace: %s: deadline passed while tasks are stopped (%s): waiting for them\n",
                     ::isatty(2) ? "\n" : "", name_.c_str(), stopped.c_str());
      }
      resumed_at_ = mono_ns();
      return false;
    }
    s.hang = snapshot_process_group(pid);
    return true;
  }

 private:
  bool past_deadline(const CaseStats& stats) const {
    int64_t started = stats.iteration_started_ns.load();
    if (started && resumed_at_ > started) started = resumed_at_;
    const double running = started ? static_cast<double>(mono_ns() - started) / 1e9 : 0.0;
    const double in_setup = static_cast<double>(mono_ns() - std::max(setup_started_, resumed_at_)) / 1e9;
    const bool setup_phase = started == 0 && stats.iteration.load() == 0;
    return (started && running > deadline_) || (setup_phase && in_setup > setup_deadline_);
  }
  bool armed_;
  double deadline_, setup_deadline_;
  int64_t setup_started_, resumed_at_ = 0, stopped_since_ = 0, last_look_ = 0;
  std::string name_;
};

// After the case process ended (finished) or was given up on: its group is
// killed and reaped (a bounded wait), the rest of its output read.
void end_case_group(ChildProcess& child, int fd, Supervision& s, bool finished) {
  const pid_t pid = child.pid();
  if (finished) {
    s.wait_status = child.wait();
    // Anything the case left running in its group is a leak: end it.
    ::kill(-pid, SIGKILL);
    for (int i = 0; i < 100; ++i) {
      pid_t r = ::waitpid(-pid, nullptr, WNOHANG);
      if (r < 0 && errno == ECHILD) break;
      if (r == 0) ::usleep(10000);
    }
    // Collect any result written just before exit.
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      s.output.append(buf, static_cast<size_t>(n));
    }
    return;
  }
  // Hang or forced interrupt: kill the whole group, wait a bounded time.
  ::kill(-pid, SIGKILL);
  for (int i = 0; i < 100; ++i) {
    if (auto st = child.try_wait()) {
      s.wait_status = *st;
      break;
    }
    ::usleep(100000);
  }
  // The case's own children (fork storms, helpers) were orphaned by the kill
  // and, diorace being their subreaper, are ours to reap.
  for (int i = 0; i < 100; ++i) {
    pid_t r = ::waitpid(-pid, nullptr, WNOHANG);
    if (r < 0 && errno == ECHILD) break;
    if (r == 0) ::usleep(100000);
  }
  s.stuck = survivors(pid, s.stuck_in_d);
  if (!s.wait_status) child.release();  // unkillable: do not block on it
}

}  // namespace

Supervision supervise(ChildProcess child, int fd, CaseStats& stats, const CaseInfo& info, const RunOptions& opts,
                      const std::vector<std::unique_ptr<SupervisorOracle>>& oracles) {
  Supervision s;
  const pid_t pid = child.pid();
  Progress progress(info.name, !opts.quiet);
  HangClock clock(info, opts);
  int64_t interrupt_at = 0;
  bool eof = false;
  char buf[65536];
  while (!eof) {
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, 250);
    if (pr > 0) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) s.output.append(buf, static_cast<size_t>(n));
      if (n == 0) eof = true;
    }
    if (g_interrupts >= 1 && !interrupt_at) {
      s.interrupted = true;
      interrupt_at = mono_ns();
      stats.stop.store(true);
      // A new line only to end a progress line on a terminal.
      std::fprintf(stderr, "%sdiorace: interrupted, stopping %s (again to abort at once)\n", ::isatty(2) ? "\n" : "",
                   info.name.c_str());
    }
    if (interrupt_at && (g_interrupts >= 2 || mono_ns() - interrupt_at > 10'000'000'000LL)) break;
    for (const auto& o : oracles)
      if (o->poll(stats) && !opts.keep_going) stats.stop.store(true);
    progress.update(stats.iteration.load(), stats.forks.load(), stats.ios.load());
    if (clock.hung(stats, pid, s)) {
      s.hung = true;
      break;
    }
  }
  progress.finish();
  end_case_group(child, fd, s, eof && !s.hung);
  return s;
}

bool declares(const CaseInfo& info, Oracle oracle) { return info.oracles.has(oracle); }

std::string marker_for(const CaseInfo& info, uint64_t seed) {
  return fmt::format("diorace: case {} seed {} start {}", info.name, seed, mono_ns());
}

void apply_kmsg(CaseResult& r, KmsgCapture& cap, const KmsgJudge& judge) {
  auto lines = cap.collect();
  auto splats = extract_splats(lines, judge.ignore);
  for (auto& sp : splats) {
    const bool is_own = judge.is_own(sp);
    // A data-race report elsewhere in the kernel is a finding, not this
    // case's verdict; every other class of report is evidence for any case.
    sp.unrelated = judge.unrelated(sp, is_own);
    r.events.push_back(KernelReportEvent{sp, is_own});
    if (sp.unrelated) {
      ++r.unrelated_findings;
      continue;
    }
    r.fail(FailKind::splat, fmt::format("{}: [{}] {}", is_own ? "its own race" : "kernel log", sp.cls, sp.title));
    if (r.failures == 0) r.failures = 1;
  }
}


}  // namespace diorace::detail
