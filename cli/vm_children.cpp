// SPDX-License-Identifier: GPL-2.0-or-later
#include "vm_children.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "diorace/error.hpp"
#include "diorace/command_line.hpp"
#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "diorace/verdict.hpp"

namespace diorace {

OwnedTempDir vm_children_dir(const std::string& prefix) {
  clean_stale_tempdirs("/var/tmp", prefix, "work directory");
  return OwnedTempDir::create("/var/tmp", prefix);
}

void start_vm_child(VmChild& c) {
  std::vector<std::string> argv = {std::filesystem::read_symlink("/proc/self/exe").string(), "vm", "--json", c.json};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  UniqueFd log(::open(c.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!log) throw_errno("open " + c.log);
  c.exit_code = -1;
  c.doc.reset();
  c.child = spawn({.argv = argv, .stdout_fd = log.get(), .stderr_fd = log.get()});
}

VmChild* reap_vm_child(std::map<pid_t, VmChild*>& running) {
  while (!running.empty()) {
    int st = 0;
    const pid_t pid = ::waitpid(-1, &st, 0);
    if (pid < 0) {
      if (errno == EINTR) {
        // A stop request (stop_on_signals): each child `diorace vm` is told
        // too (it kills its qemu and removes its disks); keep reaping them.
        if (stop_requested())
          for (auto& [p, c] : running) (void)::kill(p, SIGTERM);
        continue;
      }
      throw_errno("waitpid");
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of these
    VmChild* c = it->second;
    running.erase(it);
    (void)c->child.release();  // reaped above
    c->exit_code = exit_code_of(st);
    std::string text;
    if (try_read_file(c->json, text)) {
      try {
        c->doc = nlohmann::json::parse(text).get<RunRecord>();
      } catch (const std::exception&) {
        // no document: the exit code says what happened
      }
    }
    return c;
  }
  return nullptr;
}

void run_vm_children(const std::vector<VmChild*>& children, size_t at_once,
                     const std::function<void(VmChild&)>& ended) {
  std::map<pid_t, VmChild*> running;
  size_t next = 0;
  while ((next < children.size() && !stop_requested()) || !running.empty()) {
    while (!stop_requested() && running.size() < std::max<size_t>(1, at_once) && next < children.size()) {
      VmChild* c = children[next++];
      start_vm_child(*c);
      running[c->child.pid()] = c;
    }
    if (VmChild* c = reap_vm_child(running); c && ended) ended(*c);
  }
}

std::vector<std::string> vm_child_args(const VmOptions& o, const std::vector<std::string>& guest,
                                       const std::string& store_uri) {
  std::vector<std::string> args = o.deb.empty() ? std::vector<std::string>{"--kernel", o.kernel}
                                                : std::vector<std::string>{"--deb", o.deb};
  const auto machine = vm_machine_args(o);
  args.insert(args.end(), machine.begin(), machine.end());
  args.insert(args.end(), {"--store", store_uri, "--"});
  args.insert(args.end(), guest.begin(), guest.end());
  return args;
}

std::vector<VmChild> run_vm_batch(const std::vector<std::string>& args, size_t count, const std::string& dir,
                                  size_t& boots, const std::string& who) {
  std::vector<VmChild> children(count);
  std::vector<VmChild*> all;
  for (auto& c : children) {
    const size_t n = ++boots;
    c.args = args;
    c.json = fmt::format("{}/boot-{}.json", dir, n);
    c.log = fmt::format("{}/boot-{}.log", dir, n);
    all.push_back(&c);
  }
  run_vm_children(all, count, [&](VmChild& c) {
    const int e = c.exit_code;
    const char* what = e == kExitClean    ? "clean"
                       : e == kExitFailed ? "FAILED"
                       : e == kExitNoBoot ? "never reached the test"
                       : e == kExitAllSkip ? "every case skipped"
                                           : "error";
    std::string line = fmt::format("{}:   {}: {} (vm exit {})", who, std::filesystem::path(c.log).stem().string(), what, e);
    if (e != kExitClean && e != kExitFailed) line += "\n" + vm_child_output_tail(c);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  return children;
}

void check_vm_jobs(uint64_t jobs, unsigned cpus) {
  if (jobs < 1 || jobs > 64) throw UsageError("--jobs must be 1..64");
  const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (jobs > 1 && cores > 0 && jobs * cpus > static_cast<uint64_t>(cores))
    std::fprintf(stderr, "diorace: warning: %llu VMs x %u vCPUs exceed this host's %ld cores: boots will be slower\n",
                 static_cast<unsigned long long>(jobs), cpus, cores);
}

std::string vm_child_output_tail(const VmChild& c, size_t lines) {
  std::string text;
  if (!try_read_file(c.log, text)) return "";
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (size_t n = 0; n < lines && pos != std::string::npos && pos > 0; ++n) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

}  // namespace diorace
