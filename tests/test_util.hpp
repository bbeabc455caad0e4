// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers the integration tests share: the real program, a temporary
// directory, and a background run of the program with its output discarded.
// DIORACE_BIN is defined per test target (CMake).
#pragma once
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "diorace/fd.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "diorace/process.hpp"

namespace diorace::test {

inline CommandResult run_diorace(std::vector<std::string> args, int timeout_s = 240) {
  args.insert(args.begin(), DIORACE_BIN);
  return run_command(args, std::chrono::seconds(timeout_s));
}

// Runs a shell command line; its output without the trailing newlines.
inline std::string sh(const std::string& cmd) {
  auto r = run_command({"sh", "-c", cmd}, std::chrono::seconds(120));
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

struct TempDir {
  std::string path;
  TempDir() {
    path = "/var/tmp/diorace-cli-XXXXXX";
    if (!::mkdtemp(path.data())) throw std::runtime_error("mkdtemp");
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::set<std::string> entries() const {
    std::set<std::string> s;
    for (auto& e : std::filesystem::directory_iterator(path)) s.insert(e.path().filename().string());
    return s;
  }
};

// A refusal: exit 2 and one line on stderr that holds `message`.
inline void expect_one_line_exit2(const CommandResult& r, const std::string& message) {
  EXPECT_EQ(r.status, 2) << message << "\n" << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
  EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

// Starts `diorace ARGS...` in the background (stdout and stderr to
// /dev/null); the caller waits for the pid.
inline pid_t spawn_diorace(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int null = ::open("/dev/null", O_WRONLY);
  ::dup2(null, 1);
  ::dup2(null, 2);
  std::vector<char*> argv = {const_cast<char*>(DIORACE_BIN)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(DIORACE_BIN, argv.data());
  ::_exit(127);
}

#ifdef DIORACE_KCIDB_SCHEMA
// KCIDB's real schema (exported from KernelCI's validator, kcidb-io), in the
// shared folder beside the checkout; CMake's DIORACE_KCIDB_SCHEMA names it.
inline std::string kcidb_schema() { return DIORACE_KCIDB_SCHEMA; }
#endif

// The children of pid's main thread.
inline std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::string s;
  if (!diorace::try_read_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children", s)) return out;
  std::istringstream is(s);
  for (pid_t c; is >> c;) out.push_back(c);
  return out;
}

// Every descendant of pid (children first found, then theirs).
inline std::vector<pid_t> descendants(pid_t pid) {
  std::vector<pid_t> all, pending = {pid};
  while (!pending.empty()) {
    pid_t p = pending.back();
    pending.pop_back();
    for (pid_t c : children_of(p)) {
      all.push_back(c);
      pending.push_back(c);
    }
  }
  return all;
}

}  // namespace diorace::test
