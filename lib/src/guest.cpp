// SPDX-License-Identifier: GPL-2.0-or-later
// The guest side of the VM runner: mounts the scratch disk, announces the
// guest on the result disk, runs a staged program for `exec`, and records a
// run that ended without its own document.
#include "diorace/guest.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "diorace/contention.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/params.hpp"
#include "diorace/process.hpp"
#include "diorace/record.hpp"
#include "diorace/runner.hpp"
#include "guest_protocol.hpp"

namespace diorace {

namespace fs = std::filesystem;
using namespace detail;

GuestPlan guest_prepare() {
  GuestPlan plan;
  auto spec = nlohmann::json::parse(read_file(kGuestPlan));
  plan.result_dev = spec.value("result", "/dev/vdb");
  plan.scratch_dev = spec.value("scratch", "/dev/vda");
  plan.device = spec.value("device", "");
  if (plan.device.empty()) {
    // The cases work in a fresh filesystem on the scratch disk.
    const std::string fstype = spec.value("fs", "ext4");
    fs::create_directories("/mnt");
    if (::mount(plan.scratch_dev.c_str(), "/mnt", fstype.c_str(), 0, nullptr) < 0)
      throw_errno("mount " + plan.scratch_dev);
    plan.work_dir = "/mnt/diorace";
  } else {
    // --guest-device: the cases' fixtures go to the raw disk (or its
    // partition) through --device; a staged program works in /tmp.
    plan.work_dir = "/tmp/diorace";
  }
  fs::create_directories(plan.work_dir);
  RunRecord doc;
  doc.guest_started = true;
  doc.system = describe_system("/kconfig");
  write_run_document(plan.result_dev, doc);
  auto args = spec["args"].get<std::vector<std::string>>();
  plan.run_args.assign(args.begin() + 1, args.end());
  plan.exec = args[0] == "exec";
  if (plan.exec) return plan;
  plan.run_args.insert(plan.run_args.end(), {"--json", plan.result_dev});
  // With a device the runner makes its own scratch directory (/var/tmp).
  plan.run_args.insert(plan.run_args.end(), {plan.device.empty() ? "--dir" : "--device",
                                             plan.device.empty() ? plan.work_dir : plan.device});
  if (::access("/kconfig", R_OK) == 0) plan.run_args.insert(plan.run_args.end(), {"--kconfig", "/kconfig"});
  return plan;
}

ExecSpec parse_exec_args(const std::vector<std::string>& args) {
  ExecSpec s;
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= args.size()) throw UsageError(std::string("exec: ") + name + " needs a value");
      return args[++i];
    };
    if (args[i] == "--detect") {
      s.detect = value("--detect");
      try {
        std::regex re(s.detect);
      } catch (const std::regex_error&) {
        throw UsageError("exec: --detect '" + s.detect + "' is not a valid regular expression");
      }
    } else if (args[i] == "--detect-exit") {
      s.detect_exit = static_cast<int>(parse_int_value("--detect-exit", value("--detect-exit")));
    } else if (args[i] == "--background-readers") {
      s.background_readers = static_cast<unsigned>(parse_int_value("--background-readers", value("--background-readers")));
    } else if (args[i] == "--limit") {
      s.limit_s = std::stod(value("--limit"));
    } else {
      throw UsageError("exec: unknown option '" + args[i] + "' (exec [--detect RE] [--detect-exit N] [--background-readers N] "
                       "[--limit S] -- PROGRAM ARGS...)");
    }
  }
  if (i + 1 >= args.size()) throw UsageError("exec: give the program after '--'");
  s.argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  return s;
}

int guest_exec(const GuestPlan& plan) {
  auto spec = parse_exec_args(plan.run_args);
  if (::chdir(plan.work_dir.c_str()) < 0) throw_errno("chdir " + plan.work_dir);
  ::setenv("PATH", "/staged:/bin:/sbin:/usr/sbin", 1);
  // What a staged program needs to know of the disks.
  ::setenv("DIORACE_SCRATCH_DISK", plan.scratch_dev.c_str(), 1);
  ::setenv("DIORACE_DEVICE", plan.device.c_str(), 1);
  std::unique_ptr<Contention> background;
  if (spec.background_readers) {
    // Like `dd if=DEV of=/dev/null bs=1M iflag=direct` in a loop, per reader.
    background = std::make_unique<Contention>(ContentionOptions{
        .path = plan.scratch_dev, .readers = spec.background_readers, .depth = 1, .block = 1 << 20, .span = 256ull << 20});
    background->start();
  }
  auto out = Pipe::make();
  auto t0 = std::chrono::steady_clock::now();
  auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  ChildProcess child = spawn({.argv = spec.argv, .stdout_fd = out.write.get(), .stderr_fd = out.write.get()});
  const pid_t pid = child.pid();
  out.write = UniqueFd();
  std::optional<std::regex> re;
  if (!spec.detect.empty()) re.emplace(spec.detect);
  std::optional<double> detect_s;
  std::string output, line;
  bool timed_out = false;
  char buf[8192];
  for (;;) {
    pollfd p{out.read.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, 200);
    if (pr > 0) {
      ssize_t n = ::read(out.read.get(), buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t k = 0; k < n; ++k) {
        if (buf[k] != '\n') {
          line.push_back(buf[k]);
          continue;
        }
        if (re && !detect_s && std::regex_search(line, *re)) detect_s = since();
        output += line + "\n";
        if (output.size() > 64 * 1024) output.erase(0, output.size() - 32 * 1024);
        line.clear();
      }
    }
    if (since() > spec.limit_s) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
  }
  if (!line.empty()) {
    if (re && !detect_s && std::regex_search(line, *re)) detect_s = since();
    output += line;
  }
  const int st = child.wait();
  const double wall = since();
  // A program that reports by dying (the original dma_thread abort()s with
  // its report still in a stdio buffer) detects when it exits so.
  if (!detect_s && spec.detect_exit && exit_code_of(st) == *spec.detect_exit) detect_s = wall;
  out.read = UniqueFd();
  if (background) background->stop();
  const int code = detect_s ? kExitFailed : kExitClean;
  RunRecord doc;
  doc.guest_started = doc.complete = true;
  doc.exit_code = code;
  doc.system = describe_system("/kconfig");
  doc.exec = ExecInfo{.argv = spec.argv,
                      .detect = spec.detect,
                      .detect_s = detect_s,
                      .wall_s = wall,
                      .timed_out = timed_out,
                      .background_readers = spec.background_readers,
                      .status = exit_code_of(st),
                      .output_tail = output.size() > 4096 ? output.substr(output.size() - 4096) : output};
  write_run_document(plan.result_dev, doc);
  return code;
}

void guest_finish(const GuestPlan& plan, int code, const std::string& error) {
  if (!error.empty()) {
    RunRecord doc;
    doc.guest_started = doc.complete = true;
    doc.exit_code = code;
    doc.error = error;
    doc.system = describe_system("/kconfig");
    write_run_document(plan.result_dev, doc);
  }
  ::sync();
  if (plan.device.empty()) ::umount2("/mnt", 0);
}

}  // namespace diorace
