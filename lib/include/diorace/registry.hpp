// SPDX-License-Identifier: GPL-2.0-or-later
// Cases are declared as data (LTP's tst_test model) and register themselves
// through a static Registrar into a function-local registry. Build the case
// files as an OBJECT library so that the linker keeps their registrars.
#pragma once
#include <string_view>
#include <optional>
#include <initializer_list>
#include <atomic>
#include <cstring>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/coverage.hpp"
#include "diorace/oracles.hpp"
#include "diorace/verdict.hpp"
#include "diorace/params.hpp"
#include "diorace/pattern.hpp"

namespace diorace {

class DirectoryTarget;

enum Need : unsigned {
  kNeedRoot = 1u << 0,
  kNeedODirect = 1u << 1,
  kNeedLibaio = 1u << 2,
  kNeedIoUring = 1u << 3,
  kNeedLoop = 1u << 4,
  kNeedGuest = 1u << 5,  // refuses to run outside a diorace VM guest
};
std::vector<std::string> need_names(unsigned needs);

// The oracles a case declares: the runner arms exactly these, and a finding
// of an oracle the case did not declare is a harness ERROR, never a verdict.
//   data       - the verifier over the data the case read (corruption)
//   result     - a system call's owed result (check_owed)
//   must_block - an operation that must block (MustBlock)
//   deadline   - a child with a deadline of its own (run_with_deadline)
//   kmsg       - the kernel log of the case's window (kernel records only)
//   taint      - a kernel taint flag set during the case
//   hang       - the iteration deadline, in the supervisor
//   crash      - the VM runner's: a guest kernel crash (applies to the case
//                running when the guest died; declared by cases meant to crash)
enum class Oracle : unsigned {
  data = 1u << 0,
  result = 1u << 1,
  must_block = 1u << 2,
  deadline = 1u << 3,
  kmsg = 1u << 4,
  taint = 1u << 5,
  hang = 1u << 6,
  crash = 1u << 7,
};
std::string_view oracle_name(Oracle o) noexcept;
// nullopt for a name that is no oracle.
std::optional<Oracle> oracle_from_name(std::string_view name) noexcept;

class OracleSet {
 public:
  constexpr OracleSet() = default;
  constexpr OracleSet(std::initializer_list<Oracle> list) {
    for (Oracle o : list) bits_ |= static_cast<unsigned>(o);
  }
  [[nodiscard]] constexpr bool has(Oracle o) const noexcept { return bits_ & static_cast<unsigned>(o); }
  constexpr void add(Oracle o) noexcept { bits_ |= static_cast<unsigned>(o); }
  [[nodiscard]] std::vector<std::string> names() const;  // in declaration order of the enum

 private:
  unsigned bits_ = 0;
};

struct Commit {
  std::string hash;  // full 40-hex hash
  std::string subject;
  std::string mainline;  // the first mainline release with it ("v6.7"); "" when not known
};

// The kernels proofs boot (FACTS.md, RACES.md): Debian's packages, and the
// KCSAN + lockdep builds in shared/kernels ("debug:" + folder name).
inline constexpr const char* kDebian61 = "linux-image-6.1.0-50-cloud-amd64-unsigned";   // 6.1.176
inline constexpr const char* kDebian612 = "linux-image-6.12.107+deb12-amd64-unsigned";  // 6.12.107
// Series: the newest package of the series the apt sources offer, resolved
// when a proof runs (diorace prove --latest).
inline constexpr const char* kSeries61 = "debian:6.1-cloud-amd64";
inline constexpr const char* kSeries612 = "debian:6.12-amd64";
inline constexpr const char* kDebug61 = "debug:linux-6.1.192-kcsan-lockdep";
inline constexpr const char* kDebug612 = "debug:linux-6.12.117-kcsan-lockdep";

// A proof control: a kernel on which the case must FAIL (it has the bug) or
// PASS (it has the fix, or the case guards against a regression), checked
// by `diorace prove`.
struct Control {
  std::string kernel;                  // Debian package, "debug:NAME" (shared/kernels) or an image path
  Verdict expect = Verdict::pass;      // Verdict::fail or Verdict::pass
  std::vector<std::string> variants;   // the variants this holds for (empty: every variant, or a plain case)
  FailKind kind = FailKind::none;      // with fail: the evidence must be of this kind (none: any but crash)
  bool own_race = false;               // with fail: the kernel log must report the case's own race
  double duration_s = 30;              // how long the case runs in the guest (a FAIL stops it early)
  std::string why;                     // "has the bug", "has the fix (6.12.97)", ...
};
void to_json(nlohmann::json& j, const Control& c);
// The controls declared on pinned Debian packages, and each of those again
// on the newest package of its series (kDebian61 -> kSeries61, kDebian612 ->
// kSeries612) with the same expectation: what `prove --latest` checks.
std::vector<Control> with_series(std::vector<Control> pinned);

struct CaseInfo {
  std::string name;
  std::string summary;
  std::string races;        // what races against what
  std::string seed_thread;  // the mailing-list thread it comes from
  std::vector<Commit> fixed_by;
  std::vector<std::string> known_bad;  // kernel ranges/builds known to fail
  unsigned needs = 0;
  OracleSet oracles;                   // what the runner arms (see Oracle)
  std::vector<std::string> detectors;  // kernel config symbols the verdict needs
  std::vector<std::string> kmsg_ignore;  // regexes of kernel-log lines this case expects (not evidence)
  // Regexes matching the reports of the case's *own* race (KCSAN function
  // pairs, lockdep lock classes). Other KCSAN data-race reports seen during
  // the case are unrelated findings, listed but not its verdict.
  std::vector<std::string> own_signatures;
  // Coverage oracle: kprobe points whose counts prove the window was reached.
  std::vector<ProbeSpec> probes;
  std::vector<ParamSpec> params;
  // Device profile: the scratch-disk bandwidth (bytes/s) the VM runner sets
  // when the user gives no --throttle-bps; 0 for none. Races that need a read
  // to stay in flight (fork vs O_DIRECT) need a slow device (FACTS.md).
  uint64_t vm_device_bps = 0;
  double iteration_timeout_s = 120;  // hang oracle deadline per iteration
  double default_duration_s = 10;    // when neither --duration nor --iterations is given
  // A matrix case runs once per variant, each reported separately; the
  // parameter "variant" (declared by the case, a choice) selects one.
  std::vector<std::string> variants;
  bool test_only = false;            // hidden from "all": harness self-tests
  bool explorer = false;             // hidden from "all": the explorer's own case (`diorace explore`)
  // The kernels it must fail and pass on (`diorace prove`).
  std::vector<Control> controls;
  std::function<std::unique_ptr<class Case>()> make;
  // Optional check across parameters; throws UsageError.
  std::function<void(const ParamValues&)> validate;
  // The most it writes to its target (fixtures and case files) with these
  // parameters, beyond the background-contention file (counted by the
  // runner): compared with the free space before the run writes anything.
  // Unset: small (a few MiB).
  std::function<uint64_t(const ParamValues&)> target_bytes;

  // Not one of the regression cases "all" and `list` mean.
  [[nodiscard]] bool hidden() const noexcept { return test_only || explorer; }
};
// What a case with these parameters writes to its target at most: its
// declared target_bytes plus the contention file when its readers are on.
uint64_t planned_target_bytes(const CaseInfo& info, const ParamValues& p);
void to_json(nlohmann::json& j, const CaseInfo& c);

// Counters shared with the supervising process (they live in shared memory).
struct CaseStats {
  std::atomic<uint64_t> iteration{0};
  std::atomic<int64_t> iteration_started_ns{0};  // CLOCK_MONOTONIC
  std::atomic<int64_t> started_ns{0};            // set-up done, first iteration starts (CLOCK_MONOTONIC)
  std::atomic<uint64_t> forks{0};
  std::atomic<uint64_t> ios{0};
  std::atomic<bool> stop{false};  // set by the supervisor (SIGINT, deadline)

  // What the iteration in progress runs, as the case says it (JSON text): the
  // supervisor attaches it to a hang, when the case process can say nothing
  // more (the explorer's program). Set before the iteration's work starts.
  static constexpr size_t kNoteBytes = 256 * 1024;
  void set_note(std::string_view json) noexcept {
    note_len.store(0, std::memory_order_release);
    if (json.size() >= kNoteBytes) return;  // too big to attach: none
    std::memcpy(note, json.data(), json.size());
    note_len.store(static_cast<uint32_t>(json.size()), std::memory_order_release);
  }
  [[nodiscard]] std::string get_note() const {
    const uint32_t n = note_len.load(std::memory_order_acquire);
    return std::string(note, n);
  }
  std::atomic<uint32_t> note_len{0};
  char note[kNoteBytes];
};

struct CaseContext {
  const CaseInfo& info;
  const ParamValues& params;
  const DirectoryTarget& target;
  uint64_t seed;
  CaseStats& stats;
  std::string variant;  // "" for a case without variants
  std::mt19937_64 rng;

  std::vector<Finding> findings;  // this iteration's, for the runner (report())

  [[nodiscard]] bool stop_requested() const noexcept { return stats.stop.load(std::memory_order_relaxed); }
  // A finding of one of the case's own oracles (oracles.hpp): the iteration failed.
  void report(Finding f) { findings.push_back(std::move(f)); }
  void report(std::optional<Finding> f) {
    if (f) findings.push_back(std::move(*f));
  }
  // A fixture name unique to this case: "diorace-<case>-<suffix>.dat".
  [[nodiscard]] std::string fixture_name(const std::string& suffix) const;
};

// The lifecycle of a case, kept by the runner: each case runs in a process
// of its own (its own process group and private mount namespace, killed with
// the supervisor). In it: make(), setup(), iterate() until the duration, the
// iteration count, a stop request or the first failure, then teardown() and
// the destructor, then the result is sent and the process exits. When
// setup() throws (SkipError: SKIP; anything else: ERROR), teardown() and the
// destructor still run, so teardown() must cope with a half-done set-up.
// When the hang oracle or a second SIGINT kills the process, neither runs:
// what a case makes must then go away with the process (mounts with its
// namespace, loop devices by autoclear, child processes by PDEATHSIG, the
// scratch directory with the supervisor); loop_dio_freeze's freeze guardian
// is the pattern for a kernel state that must be undone by someone alive.
class Case {
 public:
  virtual ~Case() = default;
  // Prepares fixtures and resources. Throw SkipError for an unsupported
  // environment, anything else for an ERROR.
  virtual void setup(CaseContext&) {}
  // One iteration; returns the corruption found (empty: clean).
  virtual std::vector<Corruption> iterate(CaseContext& ctx, uint64_t iteration) = 0;
  virtual void teardown(CaseContext&) noexcept {}
};

class Registry {
 public:
  static Registry& instance();
  void add(CaseInfo info);
  [[nodiscard]] const std::vector<CaseInfo>& cases() const noexcept { return cases_; }
  [[nodiscard]] const CaseInfo* find(const std::string& name) const noexcept;

 private:
  std::vector<CaseInfo> cases_;
};

// Validates a declaration (40-hex hashes, unique parameter names, sane
// ranges); returns an empty string when it is well formed.
std::string check_case_info(const CaseInfo& info);

struct Registrar {
  explicit Registrar(CaseInfo info) { Registry::instance().add(std::move(info)); }
};

}  // namespace diorace
