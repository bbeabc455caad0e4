// SPDX-License-Identifier: GPL-2.0-or-later
// The explorer, above the case SDK: `diorace explore` (the `explore` case run
// by the runner, with its findings written out as program files), `diorace
// replay` (a program again, N times: its hit rate) and `diorace minimize`
// (the smallest program that still reproduces a finding at a rate of at
// least 15%, syzkaller's repro threshold). docs/explore-model.md.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "diorace/outcome.hpp"
#include "diorace/program.hpp"

namespace diorace {

// `diorace explore ARGS` as `run` arguments: its own options (--actors,
// --ops, --files, --fs, --weight NAME=N, --findings DIR) become the explore
// case's parameters; every other argument is run's. Throws UsageError.
struct ExploreArgs {
  std::vector<std::string> run_args;  // "explore", "--keep-going", "--param", ...
  std::string findings_dir;           // where program files of findings go ("": none)
};
ExploreArgs parse_explore_args(const std::vector<std::string>& args);
// The explorer's own options, as its help lists them (beside run's).
boost::program_options::options_description explore_options_description();
// What explore does, for its help text.
extern const char* const kExploreDetails;

// Writes each finding that carries a program (detail.program) to dir as a
// program file (the program, plus "finding": oracle, class, signature,
// summary, kernel); returns the paths written. Creates dir if missing; never
// replaces a file it did not create (names carry the signature and seed).
std::vector<std::string> write_finding_programs(const std::vector<CaseResult>& results, const std::string& dir);

// A program file: the program and, when it came from a finding, its signature.
struct ProgramFile {
  Program program;
  std::string signature;  // "" when the file names no finding
  nlohmann::json finding = nlohmann::json::object();
};
// Throws UsageError with one line for an unreadable or malformed file.
ProgramFile read_program_file(const std::string& path);

// Where replays run: a scratch filesystem of the program's variant (loop
// device over an image in a temporary directory, or the scratch device the
// user named), in a private mount namespace. Root only (UsageError else).
struct BenchOptions {
  std::string fs;              // variant name (program.fs)
  std::string scratch_device;  // "" for a loop device
  std::string dir = "/var/tmp";  // where the loop device's image goes (the timing of the disk under it matters)
  double deadline_s = 60;      // per run: beyond it the program is hung (kernel stacks, SIGKILL)
  unsigned repeat = 1;         // a run executes the program up to this many times, until one finds something
};
class ReplayBench {
 public:
  explicit ReplayBench(const BenchOptions& o);
  ~ReplayBench();
  ReplayBench(const ReplayBench&) = delete;
  ReplayBench& operator=(const ReplayBench&) = delete;

  struct Run {
    std::vector<std::string> signatures;  // what it found ("hang" when it hung)
    std::string first_summary;
    std::string first_evidence;  // the first finding's evidence (values, a hang's kernel stacks)
    unsigned executions = 1;  // of the program in this run (up to BenchOptions::repeat)
    bool hit(const std::string& signature) const;  // signature "": any finding
  };
  // One run: p in a fresh directory, in a child process with the deadline,
  // up to `repeat` times until an execution finds something.
  Run run(const Program& p);

 private:
  Run run_once(const Program& p);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct HitRate {
  unsigned runs = 0, hits = 0;
  std::string first_summary;
  [[nodiscard]] double rate() const noexcept { return runs ? static_cast<double>(hits) / runs : 0; }
};
// Runs p up to `runs` times; stops early once the outcome against min_rate is
// settled when early_stop (minimization), never otherwise.
HitRate measure(ReplayBench& bench, const Program& p, const std::string& signature, unsigned runs,
                double min_rate = 0, bool early_stop = false);

struct MinimizeOptions {
  unsigned runs = 10;       // per candidate
  double min_rate = 0.15;   // a candidate is kept when it reproduces at least this often
  std::function<void(const std::string&)> progress;  // one line per accepted step
};
struct Minimized {
  Program program;
  HitRate rate;               // of the result, measured over `runs` again
  size_t ops_before = 0, ops_after = 0;
  unsigned candidates = 0;    // programs tried
};
// Removes actors, then operations (halves down to single ones), then
// parameter detail (spins, asynchrony, buffer offsets, engines of the
// operations the finding does not name) while the signature reproduces.
Minimized minimize_program(ReplayBench& bench, const Program& p, const std::string& signature,
                           const MinimizeOptions& o);

}  // namespace diorace
