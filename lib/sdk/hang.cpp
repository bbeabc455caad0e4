// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/hang.hpp"

#include <dirent.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "diorace/fd.hpp"

namespace diorace {

namespace {

struct ProcStat {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  pid_t pgid = 0;
};

bool read_stat(const std::string& path, ProcStat& ps) {
  std::string s;
  if (!try_read_file(path, s)) return false;
  auto l = s.find('('), r = s.rfind(')');
  if (l == std::string::npos || r == std::string::npos || r + 2 >= s.size()) return false;
  ps.pid = static_cast<pid_t>(std::atoi(s.c_str()));
  ps.comm = s.substr(l + 1, r - l - 1);
  ps.state = s[r + 2];
  // fields after state: ppid pgrp
  int ppid = 0, pgrp = 0;
  if (std::sscanf(s.c_str() + r + 3, "%d %d", &ppid, &pgrp) != 2) return false;
  ps.pgid = pgrp;
  return true;
}

std::vector<pid_t> group_members(pid_t pgid) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    ProcStat ps;
    if (read_stat("/proc/" + std::string(e->d_name) + "/stat", ps) && ps.pgid == pgid) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

HangSnapshot snapshot_process_group(pid_t pgid) {
  HangSnapshot snap;
  for (pid_t pid : group_members(pgid)) {
    std::string base = "/proc/" + std::to_string(pid);
    nlohmann::json proc = {{"pid", pid}, {"threads", nlohmann::json::array()}};
    DIR* d = ::opendir((base + "/task").c_str());
    if (!d) continue;
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string tb = base + "/task/" + e->d_name;
      ProcStat ps;
      if (!read_stat(tb + "/stat", ps)) continue;
      std::string wchan, stack;
      (void)try_read_file(tb + "/wchan", wchan);
      if (!try_read_file(tb + "/stack", stack)) stack = "(kernel stack not readable)";
      snap.any_d_state |= ps.state == 'D';
      snap.all_exited &= ps.state == 'Z' || ps.state == 'X';
      proc["threads"].push_back({{"tid", ps.pid}, {"comm", ps.comm}, {"state", std::string(1, ps.state)},
                                 {"wchan", trim(wchan)}, {"stack", trim(stack)}});
      snap.text += "  " + std::to_string(pid) + "/" + std::to_string(ps.pid) + " " + ps.comm + " state " + ps.state +
                   " wchan " + (wchan.empty() ? "-" : trim(wchan)) + "\n";
      for (size_t p = 0, n; p < stack.size(); p = n + 1) {
        n = stack.find('\n', p);
        if (n == std::string::npos) n = stack.size();
        if (n > p) snap.text += "      " + stack.substr(p, n - p) + "\n";
      }
    }
    ::closedir(d);
    snap.processes.push_back(std::move(proc));
  }
  return snap;
}

namespace {

// A task of the cgroup v2 freezer: its cgroup says "frozen 1", or it sleeps
// in the freezer's trap.
bool frozen_by_cgroup(const std::string& base, const std::string& wchan) {
  if (wchan.find("freezer") != std::string::npos || wchan.find("refrigerator") != std::string::npos) return true;
  std::string cg;
  if (!try_read_file(base + "/cgroup", cg)) return false;
  auto p = cg.find("0::");
  if (p == std::string::npos) return false;
  auto e = cg.find('\n', p);
  std::string path = cg.substr(p + 3, e == std::string::npos ? std::string::npos : e - p - 3);
  std::string events;
  if (!try_read_file("/sys/fs/cgroup" + path + "/cgroup.events", events)) return false;
  return events.find("frozen 1") != std::string::npos;
}

}  // namespace

std::string stopped_tasks(pid_t pgid) {
  std::string out;
  unsigned listed = 0, more = 0;
  for (pid_t pid : group_members(pgid)) {
    const std::string base = "/proc/" + std::to_string(pid);
    DIR* d = ::opendir((base + "/task").c_str());
    if (!d) continue;
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const std::string tb = base + "/task/" + e->d_name;
      ProcStat ps;
      if (!read_stat(tb + "/stat", ps)) continue;
      std::string wchan;
      (void)try_read_file(tb + "/wchan", wchan);
      wchan = trim(wchan);
      const bool stopped = ps.state == 'T' || ps.state == 't';
      if (!stopped && !frozen_by_cgroup(base, wchan)) continue;
      if (listed++ >= 3) {
        ++more;
        continue;
      }
      out += (out.empty() ? "" : ", ") + std::to_string(ps.pid) + " (" + ps.comm + ", state " + ps.state +
             (wchan.empty() ? "" : " wchan " + wchan) + ")";
    }
    ::closedir(d);
  }
  if (more) out += " and " + std::to_string(more) + " more";
  return out;
}

std::string survivors(pid_t pgid, bool& any_d_state) {
  std::string s;
  any_d_state = false;
  for (pid_t pid : group_members(pgid)) {
    ProcStat ps;
    if (!read_stat("/proc/" + std::to_string(pid) + "/stat", ps)) continue;
    if (ps.state == 'Z') continue;
    any_d_state |= ps.state == 'D';
    s += std::to_string(pid) + " (" + ps.comm + ", state " + ps.state + ") ";
  }
  return s;
}

}  // namespace diorace
