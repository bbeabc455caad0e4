// SPDX-License-Identifier: GPL-2.0-or-later
// Runs a program (program.hpp) in a directory of a scratch filesystem and
// records its history (model.hpp): each actor on a thread of its own, all
// started together; every operation timed on CLOCK_MONOTONIC around its call
// (around submission and reaping for asynchronous requests). I/O buffers are
// slots of one shared arena laid out so that neighbouring actors' slots share
// pages (sub-page buffers, as the fork vs O_DIRECT races need).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <vector>

#include "diorace/model.hpp"
#include "diorace/oracles.hpp"
#include "diorace/program.hpp"

namespace diorace {

struct InterpreterStats {
  uint64_t ops = 0;          // operations that ran
  uint64_t unavailable = 0;  // skipped: the kernel refused the engine's set-up (no SQPOLL, no IOPOLL ring, ...)
  uint64_t forks = 0;
};

// Makes the program's files in dir (names "f0", "f1", ...; dir must be the
// program's own, empty), runs it, removes the files, and returns the
// history. nonce salts the stamps. Throws SetupError/system_error when the
// harness's own steps (creating files, threads) fail; the operations' own
// errors are results in the history.
// The same, keeping its I/O arena and engines (libaio contexts, rings) for
// the next program: what a loop over many programs uses.
class Interpreter {
 public:
  Interpreter();
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  [[nodiscard]] History run(const Program& p, const std::string& dir, uint64_t nonce, InterpreterStats* stats = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// interp.run() in a directory of its own, dir, made first and removed after
// (also when the run throws): what a loop over many programs on one
// filesystem does per program.
[[nodiscard]] History run_in_fresh_dir(Interpreter& interp, const Program& p, const std::string& dir, uint64_t nonce,
                                       InterpreterStats* stats = nullptr);

[[nodiscard]] History run_program(const Program& p, const std::string& dir, uint64_t nonce,
                                  InterpreterStats* stats = nullptr);

// A program that may hang the kernel for good (its threads stuck until the
// process dies), run in a child process with a deadline: the child runs it
// in dir (made and removed), checks the history with the model and hands
// back what it found. A child still running at the deadline is a hang: the
// finding carries its threads' kernel stacks (run_with_deadline), its class
// "hang"; the child is then killed and reaped.
struct ChildRun {
  std::vector<Finding> findings;
  bool hung = false;
  InterpreterStats stats;
};
[[nodiscard]] ChildRun run_program_in_child(const Program& p, const std::string& dir, uint64_t nonce,
                                            double deadline_s);
// Whether a program needs run_program_in_child: it makes userfaultfd regions.
[[nodiscard]] bool may_hang_for_good(const Program& p);
// The deadline explore and program cases give such a program in its child:
// programs take well under a second (under TCG too); the child's stacks and
// recovery fit within an iteration's hang deadline (60 s).
inline constexpr double kProgramDeadlineS = 20;
// One execution of p in dir and the model's findings, the way explore and
// program cases run it: a program with userfaultfd regions in a child with
// kProgramDeadlineS (a release that hangs is a finding with the stuck tasks'
// stacks, and the caller goes on), after interp is made anew (the rings and
// AIO contexts this process keeps go before it forks); any other in this
// process with interp.
[[nodiscard]] std::vector<Finding> run_and_check(std::unique_ptr<Interpreter>& interp, const Program& p,
                                                 const std::string& dir, uint64_t nonce, InterpreterStats& st);

}  // namespace diorace
