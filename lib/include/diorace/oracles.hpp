// SPDX-License-Identifier: GPL-2.0-or-later
// Oracles a case runs itself, besides the data verifier: each observation
// that proves a kernel bug becomes a Finding, which the case hands to the
// runner with CaseContext::report(). The runner turns findings into the
// case's verdict and evidence, like corruption.
//
//   check_owed      - a system call's result against what the kernel owes
//                     (a byte count, success): FailKind::wrong_result
//   MustBlock       - an operation the kernel must hold back (a write into a
//                     frozen filesystem) that completed: FailKind::not_blocked
//   run_with_deadline - a child process that must finish within seconds; if
//                     it does not, the kernel stacks of its threads, then
//                     SIGKILL and recovery: FailKind::hang
//
// Under --inject-fault oracle each of them doctors what it observes (a result
// taken as wrong, a blocked write taken as completed, a child replaced by one
// that never finishes), so that tests can prove the FAIL path on a kernel
// that has the fix.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cerrno>
#include <cstdint>
#include <iterator>
#include <vector>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "diorace/verdict.hpp"

namespace diorace {

struct Finding {
  FailKind kind = FailKind::none;
  std::string oracle;   // "result", "must_block", "deadline"
  std::string summary;  // one line
  std::string text;     // the evidence for a person (values, stacks)
  nlohmann::json detail = nlohmann::json::object();  // typed fields (call, got, owed, file, offset, ...)
};
void to_json(nlohmann::json& j, const Finding& f);
void from_json(const nlohmann::json& j, Finding& f);

// Errors that a system call may return because of its environment, not the
// kernel's fault: a full filesystem (ENOSPC), a quota (EDQUOT), no memory
// (ENOMEM), no file descriptors (EMFILE, ENFILE). write(2), read(2) and
// io_uring_enter(2) list them as conditions of the system, which a correct
// kernel returns when they hold. The owed-result oracle turns them into
// ERROR (EnvironmentError), never a finding.
inline constexpr int kEnvironmentErrnos[] = {ENOSPC, EDQUOT, ENOMEM, EMFILE, ENFILE};
// The rule of one owed-result check: which negative results are the
// environment's. Every other result that differs from the owed one is a
// finding (e.g. ERANGE or EIO where 4096 bytes are owed, 0 where the file
// has the bytes).
struct OwedRule {
  std::vector<int> environment{std::begin(kEnvironmentErrnos), std::end(kEnvironmentErrnos)};
};
[[nodiscard]] bool is_environment_errno(int err, const OwedRule& rule = {});

// A result the kernel owes: `got` must equal `owed`. `call` names the system
// call and `context` says what was asked (file, offset, length, shape). A
// result that is an error of the environment (rule) throws EnvironmentError.
[[nodiscard]] std::optional<Finding> check_owed(const std::string& call, int64_t got, int64_t owed,
                                                const nlohmann::json& context, const std::string& why_owed,
                                                const OwedRule& rule = {});

// An operation that must block: start() runs it on a thread of its own;
// completed_within() says whether it finished inside the window (then the
// kernel let it through); finish() waits for it once the condition that
// should block it is gone, and returns its result.
class MustBlock {
 public:
  [[nodiscard]] static MustBlock start(std::function<int64_t()> op);
  MustBlock(MustBlock&&) noexcept;
  MustBlock& operator=(MustBlock&&) noexcept;
  ~MustBlock();  // joins the thread (an operation stuck in the kernel keeps the case in its iteration: the hang oracle)
  [[nodiscard]] bool completed_within(std::chrono::milliseconds window);
  // The operation's result; throws SetupError if it does not finish in time.
  int64_t finish(std::chrono::milliseconds deadline);

 private:
  MustBlock() = default;
  struct State;
  std::shared_ptr<State> state_;
};

struct DeadlineOutcome {
  bool hung = false;
  int status = 0;           // wait status when it exited
  double elapsed_s = 0;
  std::string stopped;  // stopped or frozen tasks the deadline waited for (not a hang)
  std::optional<Finding> finding;  // set when hung: stacks, and whether SIGKILL ended it
};
// Runs body in a forked child (its own process group, killed with the case)
// and waits up to deadline_s for it to exit; body's return value is the
// child's exit code. A child still running at the deadline is a hang: the
// state, wchan and kernel stack of each of its threads are recorded, then it
// is killed with SIGKILL and reaped (recovery), waiting up to recover_s; the
// finding's detail says whether that worked ("recovered").
[[nodiscard]] DeadlineOutcome run_with_deadline(const std::function<int()>& body, double deadline_s,
                                                const std::string& what, double recover_s = 20);

}  // namespace diorace
