// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/runner.hpp"

#include "case_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
#include "diorace/state.hpp"
#include "diorace/taint.hpp"
#include "diorace/tempdir.hpp"
#include "diorace/target.hpp"

namespace diorace {

using namespace detail;


std::string utc_timestamp() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                     t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ts.tv_nsec / 1000000));
}

std::vector<const CaseInfo*> select_cases(const std::vector<std::string>& requested) {
  const auto& reg = Registry::instance();
  std::vector<const CaseInfo*> out;
  std::set<std::string> seen;
  auto names = requested.empty() ? std::vector<std::string>{"all"} : requested;
  for (const auto& n : names) {
    if (n == "all") {
      for (const auto& c : reg.cases())
        if (!c.hidden() && seen.insert(c.name).second) out.push_back(&c);
      continue;
    }
    const CaseInfo* c = reg.find(n);
    if (!c) throw UsageError("unknown case '" + n + "' ('diorace list' shows the cases)");
    if (seen.insert(c->name).second) out.push_back(c);
  }
  return out;
}

namespace {

void check_param_names(const RunOptions& opts, const std::vector<const CaseInfo*>& cases) {
  for (const auto& [name, value] : opts.params) {
    std::string case_name, pname = name;
    if (auto dot = name.find('.'); dot != std::string::npos) {
      case_name = name.substr(0, dot);
      pname = name.substr(dot + 1);
    }
    bool known = false;
    for (const auto* c : cases) {
      if (!case_name.empty() && c->name != case_name) continue;
      for (const auto& p : c->params) known = known || p.name == pname;
    }
    if (!known)
      throw UsageError("unknown parameter '" + name + "' for the selected cases ('diorace describe CASE' lists them)");
  }
}

}  // namespace

SystemIdentity describe_system(const std::string& kconfig_path) {
  SystemIdentity s;
  utsname u{};
  if (::uname(&u) == 0) s.kernel = {u.release, u.version, u.machine, u.nodename, ""};
  std::string cmdline;
  if (try_read_file("/proc/cmdline", cmdline)) {
    while (!cmdline.empty() && cmdline.back() == '\n') cmdline.pop_back();
    s.kernel.cmdline = cmdline;
  }
  if (auto cfg = KernelConfig::load(kconfig_path)) {
    s.kconfig.source = cfg->source();
    s.kconfig.digest = cfg->digest();
    for (const auto& d : kKnownDetectors) s.kconfig.detectors[d] = cfg->value(d).empty() ? "n" : cfg->value(d);
  }
  s.diorace_version = DIORACE_VERSION;
  return s;
}

void write_run_document(const std::string& path, const RunRecord& record) {
  std::string text = nlohmann::json(record).dump(2) + "\n";
  // In place on a block device only inside a diorace VM guest, where the
  // runner's result disk is the one named (the host refuses --json DEVICE).
  struct stat st{};
  if (in_vm_guest() && ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
    auto fd = UniqueFd::open(path, O_WRONLY);
    text.push_back('\0');
    pwrite_all(fd.get(), text.data(), text.size(), 0, "write " + path);
    if (::fdatasync(fd.get()) < 0) throw_errno("fdatasync " + path);
    return;
  }
  write_output_file(path, text);
}

std::vector<const CaseInfo*> validate_run_options(const RunOptions& opts, std::vector<ParamValues>* values_out) {
  // Every error here is one line and exit 2.
  auto cases = select_cases(opts.cases);
  check_param_names(opts, cases);
  // --fstype is the 'fs' parameter of the cases that make filesystems, unless
  // the parameter is given itself.
  auto params = opts.params;
  if (!opts.fstype.empty()) {
    if (opts.fstype != "ext4" && opts.fstype != "xfs")
      throw UsageError("--fstype must be ext4 or xfs");
    for (const auto* c : cases) {
      bool has = false, given = false;
      for (const auto& p : c->params) has = has || p.name == "fs";
      for (const auto& [n, v] : opts.params) given = given || n == "fs" || n == c->name + ".fs";
      if (has && !given) params.emplace_back(c->name + ".fs", opts.fstype);
    }
  }
  if (opts.read_only && opts.device.empty()) throw UsageError("--read-only goes with --device");
  (void)split_words(opts.mkfs_options);  // an unbalanced quote is refused before the run
  if (!opts.force_device.empty() && opts.device.empty() && opts.scratch_device.empty())
    throw UsageError("--force-device goes with --device or --scratch-device (it confirms one of them)");
  if (!opts.device.empty() && !opts.dir.empty())
    throw UsageError("--device and --dir exclude each other: with --device the fixtures are on the device "
                     "(TEST_DEV and TEST_DIR from a config file or the environment count too)");
  if (!opts.device.empty() && !opts.scratch_device.empty()) {
    std::error_code ec1, ec2;
    if (std::filesystem::equivalent(opts.device, opts.scratch_device, ec1) && !ec1)
      throw UsageError("--device and --scratch-device name the same device " + opts.device);
    (void)ec2;
  }
  std::vector<ParamValues> values;
  for (const auto* c : cases) {
    values.push_back(resolve_params(c->name, c->params, params));
    if (c->validate) c->validate(values.back());
  }
  if (opts.duration_s && !(*opts.duration_s > 0)) throw UsageError("--duration must be positive");
  if (opts.duration_s && *opts.duration_s > kMaxDurationS)
    throw UsageError(fmt::format("--duration must be at most {:.0f} s (366 days)", kMaxDurationS));
  if (opts.iteration_timeout_s && *opts.iteration_timeout_s > kMaxDurationS)
    throw UsageError(fmt::format("--iteration-timeout must be at most {:.0f} s (366 days)", kMaxDurationS));
  if (opts.iterations && *opts.iterations == 0) throw UsageError("--iterations must be at least 1");
  if (opts.iteration_timeout_s && !(*opts.iteration_timeout_s >= kMinIterationTimeoutS))
    throw UsageError(fmt::format("--iteration-timeout must be at least {:g} s (a shorter deadline calls a slow "
                                 "iteration hung)", kMinIterationTimeoutS));
  if (!opts.kconfig_path.empty() && ::access(opts.kconfig_path.c_str(), R_OK) != 0)
    throw UsageError("--kconfig " + opts.kconfig_path + ": " + std::strerror(errno));
  for (const auto& p : opts.kmsg_ignore) {
    std::regex re;
    try {
      re = std::regex(p);
    } catch (const std::regex_error&) {
      throw UsageError("--kmsg-ignore: '" + p + "' is not a valid regular expression");
    }
    // It would match every line and turn the kernel-log oracle off.
    if (std::regex_search(std::string(), re))
      throw UsageError("--kmsg-ignore: '" + p + "' matches the empty string, so every kernel log line");
  }
  if (!opts.json_path.empty()) {
    struct stat st{};
    const bool result_disk = in_vm_guest() && ::stat(opts.json_path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
    if (!result_disk) check_output_path(opts.json_path, "--json");
  }
  if (values_out) *values_out = std::move(values);
  return cases;
}

namespace {

// Where a run works: --dir, or a scratch directory it creates and removes;
// the target over it; a --device held exclusively and a --scratch-device,
// both checked for safety before anything is written.
struct Workspace {
  OwnedTempDir scratch;
  DirectoryTarget target;
  std::vector<RunLock> locks;  // the --dir, --device and --scratch-device, held for the run
  UniqueFd device_hold;
  nlohmann::json device_doc = nlohmann::json::object();

  static Workspace open(const RunOptions& opts) {
    OwnedTempDir scratch;
    std::string dir = opts.dir;
    // What a killed run left is undone first: its frozen filesystems thawed,
    // its loop devices detached, its scratch directories removed.
    recover_and_say();
    if (dir.empty()) {
      clean_stale_tempdirs("/var/tmp", "diorace-", "scratch directory");
      scratch = OwnedTempDir::create("/var/tmp", "diorace-");
      dir = scratch.path();
    }
    Workspace w{std::move(scratch), DirectoryTarget::open(dir)};
    // One run at a time on a directory or a device: another run's files in
    // the same place would be "corruption" to both.
    if (w.scratch.empty()) w.locks.push_back(RunLock::acquire(dir, "--dir " + dir, opts.wait_lock));
    if (!opts.device.empty()) {
      auto dev = inspect_block_device(opts.device, "--device");
      if (dev.read_only && !opts.read_only)
        throw UsageError("--device " + dev.path + " is read-only: add --read-only to read what an earlier run "
                         "wrote there");
      w.locks.push_back(RunLock::acquire(dev.path, "--device " + dev.path, opts.wait_lock));
      if (!opts.read_only) {
        const bool forced = require_writable_device(dev, opts.force_device, "--device");
        // Held exclusively for the run: a mount or an md assembly meanwhile fails.
        int err = 0;
        w.device_hold = UniqueFd::try_open(dev.path, O_RDONLY | O_EXCL | O_CLOEXEC, err);
        if (!w.device_hold && !forced)
          throw UsageError("--device " + dev.path + ": in use (exclusive open refused: " + std::strerror(-err) +
                           "); --force-device " + dev.path + " overrides");
      }
      w.target.bind_device(dev.path, dev.size, opts.read_only);
      w.device_doc = {{"path", dev.path},
                      {"model", dev.model},
                      {"bus", dev.bus},
                      {"size", dev.size},
                      {"read_only", opts.read_only}};
    }
    if (!opts.scratch_device.empty()) {
      auto dev = inspect_block_device(opts.scratch_device, "--scratch-device");
      if (dev.read_only) throw UsageError("--scratch-device " + dev.path + " is read-only: the cases mkfs it");
      w.locks.push_back(RunLock::acquire(dev.path, "--scratch-device " + dev.path, opts.wait_lock));
      require_writable_device(dev, opts.force_device, "--scratch-device");
      w.target.scratch_device = dev.path;
    }
    w.target.fstype = opts.fstype;
    w.target.mkfs_options = opts.mkfs_options;
    return w;
  }

  TargetInfo describe() const {
    return {.kind = target.device().empty() ? "dir" : "device",
            .dir = target.path(),
            .fs = target.fs_type(),
            .device = target.device(),
            .scratch_device = target.scratch_device,
            .scratch = !scratch.empty(),
            .device_info = device_doc};
  }

  // After an abort at once: removes the scratch directory now and says what
  // may be left behind.
  void report_leftovers() {
    // Orphans of the killed case (a freeze guardian thawing on its way out)
    // are this process's children (it is their subreaper): reaped here, for
    // up to 2 s, so that none is left a zombie of an init that never reaps.
    for (int i = 0; i < 100; ++i) {
      const pid_t r = ::waitpid(-1, nullptr, WNOHANG);
      if (r > 0) continue;
      if (r < 0 && errno == ECHILD) break;
      ::usleep(20000);
    }
    const std::string where = target.path();
    const bool scratch_dir = !scratch.empty();
    scratch = OwnedTempDir();
    auto left = leftovers_under(where);
    if (scratch_dir && std::filesystem::exists(where)) left.push_back("directory " + where);
    std::string text;
    for (const auto& l : left) text += (text.empty() ? "" : "; ") + l;
    std::fprintf(stderr, "diorace: aborted at once; %s\n",
                 left.empty() ? "nothing left behind (no mount, loop device, process or scratch file)"
                              : ("may be left behind: " + text).c_str());
  }
};

// One case (or one variant of a matrix case) to run.
struct Job {
  const CaseInfo* info;
  ParamValues values;
  std::string variant;
};

// A matrix case becomes one job per variant, each reported separately.
std::vector<Job> expand_jobs(const std::vector<const CaseInfo*>& cases, const std::vector<ParamValues>& values) {
  std::vector<Job> jobs;
  for (size_t idx = 0; idx < cases.size(); ++idx) {
    const CaseInfo* c = cases[idx];
    if (c->variants.empty()) {
      jobs.push_back({c, values[idx], ""});
      continue;
    }
    const std::string chosen = values[idx].choice("variant");
    for (const auto& v : c->variants) {
      if (chosen != "all" && chosen != v) continue;
      ParamValues pv = values[idx];
      pv.set_choice("variant", v);
      jobs.push_back({c, pv, v});
    }
  }
  return jobs;
}

// What the selected cases will write to a directory target, against its
// free space (the bytes their own files already hold there count as free:
// they are reused or replaced). Refused before anything is written.
void check_space(const Workspace& ws, const std::vector<Job>& jobs) {
  if (!ws.target.device().empty()) return;  // a device's regions are checked against its size
  uint64_t planned = 0;
  std::string biggest;
  uint64_t biggest_bytes = 0;
  for (const auto& j : jobs) {
    const uint64_t b = planned_target_bytes(*j.info, j.values);
    planned += b;
    if (b > biggest_bytes) biggest_bytes = b, biggest = j.info->name;
  }
  if (planned == 0) return;
  uint64_t held = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(ws.target.path(), ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("diorace-", 0) != 0) continue;
    struct stat st{};
    if (::lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) held += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  struct statvfs sv{};
  // A filesystem that reports no size (ramfs) has no free space to compare with.
  if (::statvfs(ws.target.path().c_str(), &sv) < 0 || sv.f_blocks == 0) return;
  const uint64_t avail = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize + held;
  const uint64_t margin = space_margin(static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize);
  if (planned + margin > avail)
    throw UsageError(fmt::format("the selected cases would write up to {} MiB to {}, which has {} MiB for them "
                                 "(free space and their own files, less {} MiB kept free; {} alone: {} MiB): "
                                 "choose smaller parameters or another --dir",
                                 planned >> 20, ws.target.path(), avail > margin ? (avail - margin) >> 20 : 0,
                                 margin >> 20, biggest, biggest_bytes >> 20));
}

// The kernel-log oracle: watches the log while the case runs (a deciding
// report stops it), then classifies what the case's window holds.
class KmsgOracle final : public SupervisorOracle {
 public:
  KmsgOracle(const CaseInfo& info, const RunOptions& opts, uint64_t seed) : judge_(info, opts) {
    cap_ = KmsgCapture::start(marker_for(info, seed), why_);
    if (cap_ && info.test_only) cap_->accept_selftest_records();
    if (cap_) watch_.emplace(KmsgWatch{*cap_, judge_});
  }
  bool poll(const CaseStats& stats) override { return watch_ && watch_->check(stats); }
  void after(CaseResult& r) override {
    if (!cap_) {
      r.events.push_back(NoteEvent{"kernel log oracle off: " + why_});
      return;
    }
    apply_kmsg(r, *cap_, judge_);
    if (auto n = cap_->user_records_dropped())
      r.events.push_back(NoteEvent{fmt::format(
          "{} kernel-log line{} written by user space during the case ignored (only the kernel's records are "
          "evidence)", n, n == 1 ? "" : "s")});
    // The report's own time is the time to detection when it came first.
    if (watch_->detected_s && r.verdict == Verdict::fail &&
        (!r.first_failure_s || *r.first_failure_s > *watch_->detected_s))
      r.first_failure_s = watch_->detected_s;
  }

 private:
  KmsgJudge judge_;
  std::string why_;
  std::optional<KmsgCapture> cap_;
  std::optional<KmsgWatch> watch_;
};

// The taint oracle: a kernel taint flag that appears during the case.
class TaintOracle final : public SupervisorOracle {
 public:
  TaintOracle() : before_(read_taint()) {}
  void after(CaseResult& r) override {
    auto now = read_taint();
    if (!before_ || !now || !(*now & ~*before_)) return;
    const uint64_t fresh = *now & ~*before_;
    r.events.push_back(TaintEvent{taint_letters(fresh), describe_taint(fresh)});
    r.fail(FailKind::taint, "kernel taint set during the case: " + describe_taint(fresh));
  }

 private:
  std::optional<uint64_t> before_;
};

// The coverage oracle: kprobes counting how often the race window is
// reached (the case process reads them per iteration).
class CoverageOracle final : public SupervisorOracle {
 public:
  CoverageOracle(const CaseInfo& info, CaseResult& r) {
    std::string why;
    probes_ = KprobeSet::create(info.probes, why);
    r.coverage = probes_ ? "measured" : "unknown: " + why;
  }
  const KprobeSet* probes() const { return probes_ ? &*probes_ : nullptr; }
  void after(CaseResult&) override {
    if (probes_) probes_->remove();
  }

 private:
  std::optional<KprobeSet> probes_;
};

// The case process's own result, or the supervisor's verdict when it hung,
// died or was interrupted without one.
void conclude(CaseResult& r, const Supervision& sup, const CaseStats& stats, const CaseInfo& info,
              const RunOptions& opts) {
  auto nl = sup.output.find_last_of('\n', sup.output.size() > 1 ? sup.output.size() - 2 : 0);
  std::string last = sup.output.substr(nl == std::string::npos ? 0 : nl + 1);
  bool parsed = false;
  if (!sup.hung && !last.empty()) {
    try {
      CaseResult child = nlohmann::json::parse(last).get<CaseResult>();
      // What the supervisor knows better than the case process.
      child.seed = r.seed;
      child.variant = r.variant;
      child.params = r.params;
      child.fault_injected = r.fault_injected;
      child.detectors_missing = r.detectors_missing;
      child.coverage = r.coverage;
      r = std::move(child);
      parsed = true;
    } catch (const std::exception&) {
    }
  }
  r.forks = std::max(r.forks, stats.forks.load());
  r.ios = std::max(r.ios, stats.ios.load());
  if (sup.hung) {
    r.iterations = stats.iteration.load() + 1;
    r.failures = 1;
    double deadline = opts.iteration_timeout_s.value_or(info.iteration_timeout_s);
    std::string why = fmt::format("iteration {} did not finish within {:.0f} s", stats.iteration.load(), deadline);
    if (!sup.stuck.empty())
      why += fmt::format("; still present after SIGKILL: {}{}", sup.stuck,
                         sup.stuck_in_d ? "(D state: the kernel is the likely culprit)" : "");
    r.fail(FailKind::hang, why);
    const auto note = nlohmann::json::parse(stats.get_note(), nullptr, false);
    r.events.push_back(HangEvent{sup.hang.text, sup.hang.processes, sup.hang.any_d_state || sup.stuck_in_d,
                                 note.is_object() ? note : nlohmann::json::object()});
  } else if (sup.interrupted && !parsed) {
    r.verdict = Verdict::error;
    r.reason = "interrupted";
  } else if (!parsed) {
    r.verdict = Verdict::error;
    int st = sup.wait_status.value_or(0);
    r.reason = WIFSIGNALED(st) ? fmt::format("case process died with signal {} ({})", WTERMSIG(st),
                                             strsignal(WTERMSIG(st)))
                               : fmt::format("case process exited with {} and no result", exit_code_of(st));
  } else if (sup.interrupted && r.verdict == Verdict::pass) {
    r.reason = "interrupted: ran " + std::to_string(r.iterations) + " iterations";
  }
}

// Runs one job in its own case process under the declared oracles.
void run_job(const Job& job, const Workspace& ws, uint64_t seed, const RunOptions& opts, CaseResult& r) {
  const CaseInfo& info = *job.info;
  // Exactly the declared oracles are armed (the metadata is the truth); the
  // hang oracle (the iteration deadline) is the supervisor's HangClock.
  std::unique_ptr<CoverageOracle> coverage;
  std::vector<std::unique_ptr<SupervisorOracle>> oracles;
  if (!info.probes.empty()) coverage = std::make_unique<CoverageOracle>(info, r);
  if (declares(info, Oracle::kmsg))
    oracles.push_back(std::make_unique<KmsgOracle>(info, opts, seed));
  else
    r.events.push_back(NoteEvent{"kernel log oracle off: not among the case's declared oracles"});
  if (declares(info, Oracle::taint)) oracles.push_back(std::make_unique<TaintOracle>());
  SharedStats stats;
  // The case process: its own group, dies with this supervisor (a SIGKILL of
  // diorace included), writes its result to the pipe.
  auto result_pipe = Pipe::make();
  const int result_fd = result_pipe.write.get(), own_read_end = result_pipe.read.get();
  const KprobeSet* probes = coverage ? coverage->probes() : nullptr;
  ChildProcess child = spawn({.body = [&]() -> int {
    ::close(own_read_end);
    case_child(info, job.values, job.variant, ws.target, seed, stats.get(), opts, probes, result_fd);
  }});
  result_pipe.write = UniqueFd();
  auto notes = std::exchange(r.events, {});
  const int64_t spawned = mono_ns();
  auto sup = supervise(std::move(child), result_pipe.read.get(), stats.get(), info, opts, oracles);
  conclude(r, sup, stats.get(), info, opts);
  // A case process that died or was killed sent no figures: the
  // supervisor's own (iterations begun, wall time since the start).
  if (r.duration_s == 0) {
    const int64_t first = stats.get().started_ns.load();
    r.duration_s = static_cast<double>(mono_ns() - (first ? first : spawned)) / 1e9;
  }
  if (r.iterations == 0 && stats.get().started_ns.load()) r.iterations = stats.get().iteration.load();
  if (!sup.stopped.empty())
    r.events.push_back(NoteEvent{fmt::format("the iteration deadline waited {:.1f} s for stopped tasks ({}): a "
                                             "task stopped by a signal, a debugger or the freezer is not hung",
                                             sup.stopped_wait_s, sup.stopped)});
  for (auto& n : notes) r.events.push_back(std::move(n));
  if (coverage) coverage->after(r);
  for (auto& o : oracles) o->after(r);
}

}  // namespace

namespace {

// --json, rewritten after every case; a failure to write it (its directory
// removed, a full disk) is said once and the run goes on without it.
struct DocumentFile {
  const std::string& path;
  std::string error;
  void save(const RunRecord& doc) {
    if (path.empty() || !error.empty()) return;
    try {
      write_run_document(path, doc);
    } catch (const std::exception& e) {
      error = e.what();
      std::fprintf(stderr, "diorace: --json %s: %s; the run goes on without it\n", path.c_str(), error.c_str());
    }
  }
};

// The run's document before any case: its identity, the system, the target.
RunRecord begin_document(const RunOptions& opts, const Workspace& ws, uint64_t seed) {
  RunRecord doc;
  doc.run.uid = new_run_uid();
  doc.run.started_at = utc_timestamp();
  doc.run.mode = "host";
  doc.run.command = opts.command;
  doc.guest_started = in_vm_guest();
  doc.system = describe_system(opts.kconfig_path);
  doc.target = ws.describe();
  doc.seed = seed;
  doc.fault_injected = fault_active();
  return doc;
}

// What run_cases keeps across its jobs.
struct RunState {
  const RunOptions& opts;
  const Workspace& ws;
  uint64_t seed;
  std::optional<KernelConfig> kconfig;
  RunObserver* observer;
  RunRecord& doc;
  DocumentFile& file;
  std::optional<std::string> odirect_cache;
  bool odirect_probed = false;
};

// One job: interrupted, skipped for an unmet need, or run; printed, told to
// the observer and added to the document.
CaseResult run_one(const Job& job, RunState& st) {
  const CaseInfo& info = *job.info;
  CaseResult r;
  r.name = info.name;
  r.variant = job.variant;
  r.seed = st.seed;
  r.params = job.values.to_json();
  r.fault_injected = fault_active();
  if (g_interrupts) {
    r.verdict = Verdict::error;
    r.reason = "not run: interrupted";
  } else if (auto why = unmet_need(info, st.ws.target, st.odirect_cache, st.odirect_probed)) {
    r.verdict = Verdict::skip;
    r.reason = *why;
  } else {
    // Only a case that runs can run without its detector.
    for (const auto& d : info.detectors)
      if (!st.kconfig || !st.kconfig->enabled(d))
        r.detectors_missing.push_back(st.kconfig ? d : d + " (kernel config unknown)");
    if (st.observer) st.observer->case_started(info.name, job.variant, r.params, st.seed);
    r.started_at = utc_timestamp();
    if (!st.opts.json_path.empty()) {
      // A VM host names the case a crash interrupted.
      st.doc.running = job.variant.empty() ? info.name : info.name + "[" + job.variant + "]";
      st.file.save(st.doc);
    }
    run_job(job, st.ws, st.seed, st.opts, r);
  }
  r.finished_at = utc_timestamp();
  if (r.verdict == Verdict::fail && r.failures == 0) r.failures = 1;
  if (!st.opts.quiet || r.verdict != Verdict::pass) {
    std::fputs(format_result(r).c_str(), stdout);
    std::fflush(stdout);
  }
  if (st.observer) st.observer->case_finished(r);
  st.doc.running.clear();
  st.doc.cases.push_back(r);
  st.file.save(st.doc);
  return r;
}

}  // namespace

int run_cases(const RunOptions& opts, std::vector<CaseResult>* results_out, RunObserver* observer) {
  std::vector<ParamValues> values;
  auto cases = validate_run_options(opts, &values);
  // Before anything is created: SIGINT from here on stops the run in order,
  // and the handlers stay until the scratch directory is gone.
  InterruptGuard guard;
  // Orphans of a killed case process become diorace's children, not init's,
  // so that none outlives the run.
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 1);
  Workspace ws = Workspace::open(opts);
  const auto jobs = expand_jobs(cases, values);
  check_space(ws, jobs);
  const uint64_t seed = opts.seed.value_or(static_cast<uint64_t>(mono_ns()) ^ static_cast<uint64_t>(::getpid()));
  if (fault_active())
    std::fprintf(stderr,
                 "*** diorace: FAULT INJECTION IS ON (--inject-fault): failures below are synthetic, "
                 "not evidence of a kernel bug ***\n");
  RunRecord doc = begin_document(opts, ws, seed);
  DocumentFile file{opts.json_path, {}};
  file.save(doc);
  if (observer) observer->run_started(doc);

  RunState st{opts, ws, seed, KernelConfig::load(opts.kconfig_path), observer, doc, file, std::nullopt, false};
  std::vector<CaseResult> results;
  for (const auto& job : jobs) results.push_back(run_one(job, st));
  int code = exit_code_for(results);
  if (g_interrupts && code == kExitClean) code = kExitError;
  doc.complete = true;
  doc.exit_code = code;
  doc.run.status = "COMPLETE";
  doc.run.finished_at = utc_timestamp();
  file.save(doc);
  if (observer) observer->run_finished(doc);
  // Results not kept as asked: no clean exit (a failure found stays 1).
  if ((code == kExitClean || code == kExitAllSkip) && (!file.error.empty() || (observer && !observer->error().empty())))
    code = kExitError;
  if (results_out) *results_out = results;
  if (g_interrupts >= 2) ws.report_leftovers();
  return code;
}

}  // namespace diorace
