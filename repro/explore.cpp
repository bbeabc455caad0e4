// SPDX-License-Identifier: GPL-2.0-or-later
// explore: the explorer's case (`diorace explore` runs it; docs/explore-model.md).
// Not a reduced bug: every iteration generates a new random concurrent
// program (program.hpp) from the run's seed and the iteration number, runs it
// on a fresh directory of a scratch filesystem the case makes (loop device or
// --scratch-device; the variant picks the filesystem), and checks its
// history with the model (model.hpp): contents, owed results, blocking.
// Around it the runner arms the kernel log, taint and hang oracles. Each new
// finding signature (oracle, class, operation shape, filesystem) is reported
// once per run, with the whole program attached (detail.program), so that
// `diorace replay` and `diorace minimize` can take it from the result.
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <set>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/interpreter.hpp"
#include "diorace/klog.hpp"
#include "diorace/model.hpp"
#include "diorace/program.hpp"
#include "diorace/registry.hpp"
#include "diorace/scratchfs.hpp"
#include "diorace/target.hpp"

namespace diorace {
namespace {

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string weight_param(const std::string& name) { return "w_" + name; }

std::vector<ParamSpec> explore_params() {
  std::vector<ParamSpec> ps = {
      {"variant", "filesystem (all: each, reported separately)", 0, 0, 0,
       {"all", "ext4", "ext4-inline", "xfs", "btrfs"}},
      {"actors", "actors per program", 3, 1, 16},
      {"process_percent", "actors that run as processes, the others as threads (%)", 25, 0, 100},
      {"file_percent", "programs whose I/O buffers are a shared mapping of a file (%)", 15, 0, 100},
      {"huge_percent", "programs whose anonymous buffers are in transparent huge pages (%)", 15, 0, 100},
      {"private_percent", "programs (of 2 files or more) whose last file is actor 0's alone: where COLLAPSE_RANGE and "
                          "INSERT_RANGE go (%)", 20, 0, 100},
      {"ops", "operations per actor", 12, 1, 200},
      {"files", "files per program", 2, 1, 16},
      {"max_size", "largest file offset the generator draws (bytes)", 65536, 4096, 16 * 1024 * 1024},
      {"direct_percent", "reads and writes through O_DIRECT (%)", 65, 0, 100},
      {"async_percent", "libaio and io_uring requests left in flight (%)", 50, 0, 100},
      {"after_percent", "operations of actors 1.. that wait for a lower actor's operation to begin (schedule hints, %)",
       30, 0, 100},
      {"swarm", "1: each program keeps each weight with probability 1/2 (swarm testing); 0: the table as it is", 1, 0,
       1},
  };
  const GeneratorConfig d;
  for (const auto* table : {&d.weights, &d.engines, &d.rings})
    for (const auto& [name, w] : *table)
      ps.push_back({weight_param(name), "weight of " + name + " (0: off)", static_cast<int64_t>(w), 0, 1000});
  return ps;
}

GeneratorConfig config_from(const ParamValues& p) {
  GeneratorConfig c;
  c.actors = static_cast<unsigned>(p.integer("actors"));
  c.ops_per_actor = static_cast<unsigned>(p.integer("ops"));
  c.files = static_cast<unsigned>(p.integer("files"));
  c.max_size = static_cast<uint64_t>(p.integer("max_size")) & ~uint64_t{511};
  c.direct_percent = static_cast<unsigned>(p.integer("direct_percent"));
  c.async_percent = static_cast<unsigned>(p.integer("async_percent"));
  c.after_percent = static_cast<unsigned>(p.integer("after_percent"));
  c.process_percent = static_cast<unsigned>(p.integer("process_percent"));
  c.file_percent = static_cast<unsigned>(p.integer("file_percent"));
  c.private_percent = static_cast<unsigned>(p.integer("private_percent"));
  c.huge_percent = static_cast<unsigned>(p.integer("huge_percent"));
  c.swarm = p.integer("swarm") != 0;
  for (auto* table : {&c.weights, &c.engines, &c.rings})
    for (auto& [name, w] : *table) w = static_cast<unsigned>(p.integer(weight_param(name)));
  return c;
}

double seconds_since(int64_t mono_ns) {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return mono_ns ? (static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec) - static_cast<double>(mono_ns)) / 1e9
                 : 0.0;
}

// Is the task a hung-task report names a thread of this process?
bool own_task(const std::string& headline) {
  const auto pid = hung_task_pid(headline);
  if (!pid) return true;  // cannot tell: keep the attribution
  struct stat st{};
  return ::stat(fmt::format("/proc/self/task/{}", *pid).c_str(), &st) == 0;
}

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "";
}

class Explore final : public Case {
 public:
  void setup(CaseContext& ctx) override {
    const std::string v = ctx.variant.empty() ? "ext4" : ctx.variant;
    fsv_ = find_fs_variant(v);
    if (!fsv_) throw SetupError("unknown filesystem variant " + v);
    cfg_ = config_from(ctx.params);
    klog_ = KernelLogWatch::open();  // kernel reports are attributed to the program that ran
    fs_ = ScratchFilesystem::make(ctx.target,
                                  {.name = "explore", .fstype = fsv_->fstype, .mkfs_options = fsv_->mkfs,
                                   .size_mib = fsv_->size_mib});
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    const uint64_t seed = mix(ctx.seed ^ mix(i));
    Program prog = generate_program(cfg_, seed);
    prog.fs = fsv_->name;
    const std::string dir = fmt::format("{}/p{}", fs_.dir(), i);
    // Should this iteration hang the whole case process (the runner's 60 s
    // deadline), the runner attaches the program to the hang.
    ctx.stats.set_note(nlohmann::json{{"program", prog},
                                      {"signature", "deadline|hang||" + std::string(fsv_->name)},  // what a replay of it says
                                      {"iteration", i},
                                      {"kernel", kernel_release()}}
                           .dump());
    // Userfaultfd regions: a kernel that hangs on their release hangs the
    // process for good, so such a program runs in a child with a deadline of
    // its own; a hang is a finding with the program, like any other.
    InterpreterStats st;
    std::vector<Finding> findings = run_and_check(interp_, prog, dir, seed, st);
    ctx.stats.ios.fetch_add(st.ops, std::memory_order_relaxed);
    ctx.stats.forks.fetch_add(st.forks, std::memory_order_relaxed);
    if (klog_)
      for (const auto& r : klog_->drain()) {
        Finding f = kernel_report_finding(r);
        // A hung-task report names its task ("task NAME:PID blocked for more
        // than N seconds"): a task that is not one of this process's threads
        // is an earlier program's (a child run that hung, or an earlier
        // variant's process), not this program's doing.
        if (r.cls == "hung_task" && !own_task(r.headline)) {
          f.summary = "the kernel logged a hung task of no program of this process: " + r.headline;
          f.text = f.summary;
          f.detail["unattributed"] = true;
        }
        findings.push_back(std::move(f));
      }
    for (auto& f : findings) {
      const std::string sig = finding_signature(f, fsv_->name);
      if (!seen_.insert(sig).second) continue;  // one report per signature and run
      f.detail["signature"] = sig;
      if (!f.detail.value("unattributed", false)) f.detail["program"] = prog;
      f.detail["iteration"] = i;
      f.detail["elapsed_s"] = seconds_since(ctx.stats.started_ns.load());  // from the variant's first program
      f.detail["kernel"] = kernel_release();
      f.text += fmt::format("\nprogram seed {} (iteration {}), {} actors, {} operations; signature {}", seed, i,
                            prog.actors.size(), prog.op_count(), sig);
      ctx.report(std::move(f));
    }
    return {};
  }

  void teardown(CaseContext&) noexcept override {
    interp_.reset();
    fs_ = ScratchFilesystem();
  }

 private:
  const FsVariant* fsv_ = nullptr;
  GeneratorConfig cfg_;
  ScratchFilesystem fs_;
  std::unique_ptr<Interpreter> interp_ = std::make_unique<Interpreter>();
  std::optional<KernelLogWatch> klog_;
  std::set<std::string> seen_;
};

const Registrar registrar{CaseInfo{
    .name = "explore",
    .summary = "the explorer: random concurrent Direct-I/O programs checked against a data model",
    .races = "whatever the generated programs race: O_DIRECT, buffered, libaio, io_uring (IOPOLL, SQPOLL, "
             "registered buffers) reads and writes, truncate, fallocate, fsync, fork, fresh inodes, freeze, "
             "userfaultfd buffers and their release",
    .seed_thread = "none: docs/explore-model.md (rules from shared/DIO-SEMANTICS.md)",
    .needs = kNeedRoot | kNeedLoop | kNeedODirect,
    .oracles = {Oracle::data, Oracle::result, Oracle::must_block, Oracle::deadline, Oracle::kmsg, Oracle::taint,
                Oracle::hang},
    .params = explore_params(),
    .iteration_timeout_s = 60,
    .default_duration_s = 60,
    .variants = {"ext4", "ext4-inline", "xfs", "btrfs"},
    .explorer = true,
    .make = [] { return std::make_unique<Explore>(); },
}};

}  // namespace
}  // namespace diorace
