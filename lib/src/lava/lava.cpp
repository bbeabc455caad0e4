// SPDX-License-Identifier: GPL-2.0-or-later
// LAVA job definitions and reading finished jobs back (the program only: it
// needs yaml-cpp for LAVA's logs).
#include <yaml-cpp/yaml.h>

#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/lava.hpp"
#include "diorace/runner.hpp"
#include "vm_internal.hpp"

namespace diorace {

namespace {

nlohmann::json minutes(unsigned m) { return {{"minutes", m}}; }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

nlohmann::json lava_job(const LavaJobSpec& s) {
  const bool board = s.device_type != "qemu";
  if (s.testdef_repo.empty()) throw UsageError("lava-job: give --testdef-repo (a git URL the lab can clone)");
  if (s.cases.empty()) throw UsageError("lava-job: give the cases (or all)");
  if (board && s.scratch_device.empty())
    throw UsageError("lava-job: a board job needs --scratch-device: the device the lab names for destructive tests");
  if (!board && (s.kernel_url.empty() || s.initramfs_url.empty()))
    throw UsageError("lava-job: a qemu job needs --kernel-url and --initramfs-url (lava-job --initramfs writes the initramfs)");
  nlohmann::json job = {
      {"job_name", s.job_name.empty() ? "diorace " + join(s.cases) : s.job_name},
      {"device_type", s.device_type},
      {"timeouts", {{"job", minutes(s.job_timeout_min)}, {"action", minutes(s.boot_timeout_min)},
                    {"connection", minutes(2)}}},
      {"priority", s.priority},
      {"visibility", s.visibility},
      {"metadata", {{"diorace.cases", join(s.cases)}, {"diorace.version", DIORACE_VERSION}}},
      {"actions", nlohmann::json::array()}};
  if (!s.tags.empty()) job["tags"] = s.tags;
  auto& actions = job["actions"];
  if (!board) {
    job["context"] = {{"arch", "amd64"},
                      {"memory", s.mem_mib},
                      {"extra_options", {"-smp " + std::to_string(s.cpus)}}};
    actions.push_back(
        {{"deploy",
          {{"to", "tmpfs"},
           {"timeout", minutes(s.boot_timeout_min)},
           {"images",
            {{"kernel",
              {{"image_arg", "-kernel {kernel} -append \"console=ttyS0,115200 rdinit=/init panic=-1 loglevel=7\""},
               {"url", s.kernel_url}}},
             // LAVA adds its overlay (the test shell and the definition) to diorace's initramfs.
             {"ramdisk",
              {{"image_arg", "-initrd {ramdisk}"}, {"url", s.initramfs_url}, {"format", "cpio.newc"},
               {"overlays", {{"lava", true}}}}}}}}}});
    actions.push_back({{"boot",
                        {{"method", "qemu"},
                         {"media", "tmpfs"},
                         {"timeout", minutes(s.boot_timeout_min)},
                         {"prompts", {"diorace-guest# "}}}}});
  } else {
    // A board already running an OS with diorace installed: power it on and
    // wait for its prompt; the lab's device dictionary knows the rest.
    actions.push_back(
        {{"boot", {{"method", "minimal"}, {"timeout", minutes(s.boot_timeout_min)}, {"prompts", {"# ", "\\$ "}}}}});
  }
  nlohmann::json def = {{"repository", s.testdef_repo},
                        {"from", "git"},
                        {"path", s.testdef_path},
                        {"name", "diorace"},
                        {"parameters",
                         {{"CASES", join(s.cases)}, {"RUN_ARGS", join(s.run_args)}, {"DEVICE", s.scratch_device}}}};
  if (!s.testdef_revision.empty()) def["revision"] = s.testdef_revision;
  actions.push_back({{"test", {{"timeout", minutes(s.test_timeout_min)}, {"definitions", {def}}}}});
  return job;
}

RunRecord lava_import(const std::string& log_yaml, const std::string& health, const std::string& label,
                      const std::vector<std::string>& expected, const std::string& job_uid) {
  // The job's log: a YAML list of {dt, lvl, msg}; the device's console and
  // the test shell are lvl "target".
  // lava-run prints the same entries one YAML flow mapping per line.
  std::string target;
  auto take = [&](const YAML::Node& e) {
    if (e.IsMap() && e["lvl"] && e["msg"] && e["lvl"].as<std::string>() == "target" && e["msg"].IsScalar())
      target += e["msg"].as<std::string>() + "\n";
  };
  bool parsed = false;
  try {
    YAML::Node log = YAML::Load(log_yaml);
    if (log.IsSequence()) {
      for (const auto& e : log) take(e);
      parsed = true;
    }
  } catch (const YAML::Exception&) {
  }
  if (!parsed) {
    size_t entries = 0;
    std::istringstream is(log_yaml);
    for (std::string line; std::getline(is, line);) {
      if (line.rfind("{", 0) != 0) continue;
      try {
        take(YAML::Load(line));
        ++entries;
      } catch (const YAML::Exception&) {
      }
    }
    if (!entries)
      throw UsageError("import-lava: not a LAVA job log (a YAML list of {dt, lvl, msg}, or lava-run's lines of them)");
  }
  std::string why;
  auto found = find_lava_document(target, why);
  RunRecord rec = found ? *found : RunRecord{};
  rec.run.mode = "lava";
  rec.run.label = label;
  if (rec.run.uid.empty()) rec.run.uid = job_uid.empty() ? new_run_uid() : job_uid;
  if (rec.run.started_at.empty()) rec.run.started_at = utc_timestamp();
  rec.run.finished_at = utc_timestamp();
  std::string crash_what;
  const auto crash_at = detail::find_crash(target, crash_what);
  if (!found) {
    // No document: the run never finished. A crash is charged to the case
    // whose kernel-log marker came last before it.
    rec.complete = false;
    rec.error = "no run document in the job's log: " + why + (health.empty() ? "" : " (job " + health + ")");
    if (crash_at) {
      std::string running = "(between cases)";
      static const std::regex marker(R"(diorace: case (\S+) seed)");
      const std::string before = target.substr(0, *crash_at);
      for (auto it = std::sregex_iterator(before.begin(), before.end(), marker); it != std::sregex_iterator(); ++it)
        running = (*it)[1];
      CaseResult r;
      r.name = running;
      detail::fail_with_crash(r, target, *crash_at, crash_what);
      rec.cases.push_back(std::move(r));
    }
  } else if (crash_at && !rec.complete) {
    rec.error = "the kernel crashed before the run completed: " + crash_what;
  }
  // Cases asked for that never reported: INCOMPLETE, never PASS.
  for (const auto& name : expected) {
    if (name == "all") continue;
    bool have = false;
    for (const auto& c : rec.cases) have = have || c.name == name;
    if (!have) {
      CaseResult r;
      r.name = name;
      r.reason = "never reported in the LAVA job" + (health.empty() ? std::string() : " (job " + health + ")");
      rec.cases.push_back(std::move(r));
    }
  }
  int code = exit_code_for(rec.cases);
  if (rec.cases.empty()) code = kExitError;  // a job with no results is not a pass
  if (!health.empty() && health != "Complete" && code == kExitClean) code = kExitError;
  rec.exit_code = code;
  rec.run.status = found && (health.empty() || health == "Complete") ? "COMPLETE" : rec.cases.empty() ? "ERROR" : "INCOMPLETE";
  rec.complete = rec.run.status == "COMPLETE";
  return rec;
}

}  // namespace diorace
