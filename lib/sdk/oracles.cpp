// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/oracles.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "diorace/hang.hpp"
#include "diorace/process.hpp"

namespace diorace {

namespace {

std::string result_text(int64_t v) {
  if (v >= 0) return std::to_string(v);
  return fmt::format("-{} ({})", -v, std::strerror(static_cast<int>(-v)));
}

}  // namespace

bool is_environment_errno(int err, const OwedRule& rule) {
  return std::find(rule.environment.begin(), rule.environment.end(), err) != rule.environment.end();
}

std::optional<Finding> check_owed(const std::string& call, int64_t got, int64_t owed, const nlohmann::json& context,
                                  const std::string& why_owed, const OwedRule& rule) {
  const bool doctored = got == owed && fault_doctor();
  if (doctored) got = owed > 0 ? owed - 1 : -EIO;
  if (got == owed) return std::nullopt;
  if (got < 0 && got > -4096 && is_environment_errno(static_cast<int>(-got), rule))
    throw EnvironmentError(fmt::format("environment, not the kernel: {} returned {} (where {} is owed); {}", call,
                                       result_text(got), result_text(owed), context.dump()));
  Finding f;
  f.kind = FailKind::wrong_result;
  f.oracle = "result";
  f.summary = fmt::format("{} returned {} where {} is owed", call, result_text(got), result_text(owed));
  f.text = f.summary + " (" + why_owed + ")";
  if (!context.empty()) f.text += "; " + context.dump();
  if (doctored) f.text += " [fault injected: the result was doctored]";
  f.detail = {{"call", call}, {"got", got}, {"owed", owed}, {"why", why_owed}, {"context", context},
              {"doctored", doctored}};
  return f;
}

struct MustBlock::State {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int64_t result = 0;
  std::string error;
  std::thread thread;
};

MustBlock MustBlock::start(std::function<int64_t()> op) {
  MustBlock m;
  m.state_ = std::make_shared<State>();
  auto st = m.state_;
  st->thread = std::thread([st, op = std::move(op)] {
    int64_t r = 0;
    std::string err;
    try {
      r = op();
    } catch (const std::exception& e) {
      err = e.what();
    }
    std::lock_guard lk(st->mu);
    st->done = true;
    st->result = r;
    st->error = err;
    st->cv.notify_all();
  });
  return m;
}

MustBlock::MustBlock(MustBlock&&) noexcept = default;
MustBlock& MustBlock::operator=(MustBlock&& o) noexcept {
  if (this != &o) {
    if (state_ && state_->thread.joinable()) state_->thread.join();
    state_ = std::move(o.state_);
  }
  return *this;
}
MustBlock::~MustBlock() {
  if (state_ && state_->thread.joinable()) state_->thread.join();
}

bool MustBlock::completed_within(std::chrono::milliseconds window) {
  std::unique_lock lk(state_->mu);
  const bool done = state_->cv.wait_for(lk, window, [&] { return state_->done; });
  return done || fault_doctor();
}

int64_t MustBlock::finish(std::chrono::milliseconds deadline) {
  std::unique_lock lk(state_->mu);
  if (!state_->cv.wait_for(lk, deadline, [&] { return state_->done; }))
    throw SetupError(fmt::format("the blocked operation did not finish within {} ms of its release",
                                 deadline.count()));
  lk.unlock();
  state_->thread.join();
  if (!state_->error.empty()) throw SetupError(state_->error);
  return state_->result;
}

namespace {

// Waits up to s seconds for the child to be reaped; its wait status in status.
bool reaped_within(ChildProcess& child, double s, int& status) {
  for (const auto t0 = std::chrono::steady_clock::now();
       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < s; ::usleep(5000))
    if (auto st = child.try_wait()) {
      status = *st;
      return true;
    }
  return false;
}

}  // namespace

DeadlineOutcome run_with_deadline(const std::function<int()>& body, double deadline_s, const std::string& what,
                                  double recover_s) {
  DeadlineOutcome out;
  const bool doctored = fault_doctor();
  const auto t0 = std::chrono::steady_clock::now();
  // Its own process group, killed with the case.
  ChildProcess child = spawn({.body = [&]() -> int {
    if (doctored)
      for (;;) ::pause();  // stands for a child stuck in the kernel
    return body();
  }});
  const pid_t pid = child.pid();
  auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  // The deadline's clock starts again when a stopped task resumes: a task
  // stopped by SIGSTOP, a debugger or the cgroup freezer is not hung.
  // So does it when this watcher itself was stopped (its whole group
  // stopped and resumed, the freezer): a gap between two of its 5 ms looks.
  auto clock_start = t0, last_look = t0;
  for (;;) {
    if (auto st = child.try_wait()) {
      out.status = *st;
      out.elapsed_s = since();
      return out;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_look > std::chrono::milliseconds(500)) clock_start += now - last_look;
    last_look = now;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count() >= deadline_s) {
      auto stopped = stopped_tasks(pid);
      if (stopped.empty()) break;
      if (out.stopped.empty()) out.stopped = stopped;
      clock_start = std::chrono::steady_clock::now();
      ::usleep(50000);
      continue;
    }
    ::usleep(5000);
  }
  HangSnapshot snap = snapshot_process_group(pid);
  // The deadline met a child that had already exited, a zombie not yet
  // reaped (seen in a loaded TCG guest: the child exiting at 1.0 s of a
  // 1.0 s deadline): it finished by itself, late; nothing is hung.
  if (snap.all_exited && !doctored && reaped_within(child, recover_s, out.status)) {
    out.elapsed_s = since();
    return out;
  }
  // Hung: the evidence first, then recovery.
  out.hung = true;
  out.elapsed_s = since();
  // A livelocked thread is often caught running (state R: no kernel stack to
  // read); a second look a little later shows where it spins.
  if (snap.text.find(" state R ") != std::string::npos) {
    ::usleep(100000);
    HangSnapshot again = snapshot_process_group(pid);
    snap.text += "  (100 ms later)\n" + again.text;
    for (auto& p : again.processes) snap.processes.push_back(std::move(p));
    snap.any_d_state = snap.any_d_state || again.any_d_state;
  }
  ::kill(-pid, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const bool reaped = reaped_within(child, recover_s, out.status);
  if (!reaped) (void)child.release();  // unkillable (D state): do not block on it
  const double recovery_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  Finding f;
  f.kind = FailKind::hang;
  f.oracle = "deadline";
  f.summary = fmt::format("{} did not finish within {:.1f} s{}", what, deadline_s,
                          reaped ? fmt::format("; SIGKILL ended it after {:.2f} s", recovery_s)
                                 : fmt::format("; still there {:.0f} s after SIGKILL", recover_s));
  f.text = f.summary + (doctored ? " [fault injected: the child was made to hang]" : "") + "\n" + snap.text;
  f.detail = {{"deadline_s", deadline_s}, {"processes", snap.processes}, {"d_state", snap.any_d_state},
              {"recovered", reaped}, {"recovery_s", recovery_s}, {"doctored", doctored}};
  out.finding = std::move(f);
  return out;
}

void to_json(nlohmann::json& j, const Finding& f) {
  j = {{"kind", std::string(to_string(f.kind))}, {"oracle", f.oracle}, {"summary", f.summary}, {"text", f.text},
       {"detail", f.detail}};
}

void from_json(const nlohmann::json& j, Finding& f) {
  if (!j.is_object()) throw std::invalid_argument("a finding is a JSON object");
  f.kind = fail_kind_from_string(j.value("kind", std::string()));
  f.oracle = j.value("oracle", std::string());
  f.summary = j.value("summary", std::string());
  f.text = j.value("text", std::string());
  f.detail = j.value("detail", nlohmann::json::object());
}

}  // namespace diorace
