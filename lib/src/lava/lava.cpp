// SPDX-License-Identifier: GPL-2.0-or-later
// LAVA job definitions and reading finished jobs back (the program only: it
// needs yaml-cpp for LAVA's logs).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <cctype>
#include <string_view>
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

// yaml-cpp parses nested flow collections recursively: a crafted "[[[[..."
// would overflow the stack. Deeper than this is no LAVA log.
constexpr size_t kMaxNesting = 64;
bool nesting_within_bounds(std::string_view text) {
  size_t depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') {
      if (++depth > kMaxNesting) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// The case a kernel-log marker names ("diorace: case NAME seed ..."), last
// before `end`; "(between cases)" when none. No regex (an untrusted log),
// and a name of at most 200 characters.
std::string last_marker_case(const std::string& text, size_t end) {
  static constexpr std::string_view kMarker = "diorace: case ";
  std::string running = "(between cases)";
  const std::string_view before(text.data(), std::min(end, text.size()));
  for (size_t at = before.find(kMarker); at != std::string_view::npos; at = before.find(kMarker, at + 1)) {
    const size_t s = at + kMarker.size();
    size_t e = s;
    while (e < before.size() && e - s <= 200 && !std::isspace(static_cast<unsigned char>(before[e]))) ++e;
    if (e == s || e - s > 200 || before.compare(e, 6, " seed ") != 0) continue;
    running = std::string(before.substr(s, e - s));
  }
  return running;
}

// A LAVA log entry: a map with lvl and msg.
bool is_entry(const YAML::Node& e) { return e.IsMap() && e["lvl"] && e["msg"]; }

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

namespace {

// The device's console and the test shell of a job log (lvl "target"): a
// YAML list of {dt, lvl, msg}, or lava-run's lines of one flow mapping each.
std::string target_text(const std::string& log_yaml) {
  // The log comes from an untrusted guest: bounded as a whole, per message
  // and in nesting, and parsed without backtracking regexes.
  constexpr size_t kMaxLog = 512u << 20, kMaxMessage = 1u << 20;
  if (log_yaml.size() > kMaxLog)
    throw UsageError(fmt::format("import-lava: the log is {} MiB, more than the {} MiB a job log may be",
                                 log_yaml.size() >> 20, kMaxLog >> 20));
  std::string target;
  size_t entries = 0;
  auto take = [&](const YAML::Node& e) {
    if (!is_entry(e)) return;
    ++entries;
    if (e["lvl"].IsScalar() && e["lvl"].as<std::string>() == "target" && e["msg"].IsScalar()) {
      std::string m = e["msg"].as<std::string>();
      if (m.size() > kMaxMessage) m.resize(kMaxMessage);
      target += m + "\n";
    }
  };
  bool parsed = false;
  if (nesting_within_bounds(log_yaml)) {
    try {
      YAML::Node log = YAML::Load(log_yaml);
      if (log.IsSequence()) {
        for (const auto& e : log) take(e);
        parsed = entries > 0;
      }
    } catch (const YAML::Exception&) {
    }
  }
  if (!parsed) {
    entries = 0;
    target.clear();
    std::istringstream is(log_yaml);
    for (std::string line; std::getline(is, line);) {
      if (line.rfind("{", 0) != 0 || !nesting_within_bounds(line)) continue;
      try {
        take(YAML::Load(line));
      } catch (const YAML::Exception&) {
      }
    }
    if (!entries)
      throw UsageError("import-lava: not a LAVA job log (a YAML list of {dt, lvl, msg}, or lava-run's lines of them)");
  }
  return target;
}

}  // namespace

RunRecord lava_import(const std::string& log_yaml, const std::string& health, const std::string& label,
                      const std::vector<std::string>& expected, const std::string& job_uid) {
  // The job's log: a YAML list of {dt, lvl, msg}; the device's console and
  // the test shell are lvl "target".
  // lava-run prints the same entries one YAML flow mapping per line.
  const std::string target = target_text(log_yaml);
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
      CaseResult r;
      r.name = last_marker_case(target, *crash_at);
      detail::fail_with_crash(r, target, *crash_at, crash_what);
      rec.cases.push_back(std::move(r));
    }
  } else if (crash_at && !rec.complete) {
    rec.error = "the kernel crashed before the run completed: " + crash_what;
  }
  // The rules of a local run hold for what a guest says of itself: a case
  // that completed no iteration is no PASS.
  for (auto& c : rec.cases)
    if (c.verdict == Verdict::pass && c.iterations == 0) {
      c.verdict = Verdict::error;
      c.reason = "completed no iteration (the imported result said PASS)";
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

std::vector<std::string> lava_results_disagreements(const std::string& log_yaml, const nlohmann::json& server) {
  std::vector<std::string> out;
  std::string why;
  const auto doc = find_lava_document(target_text(log_yaml), why);
  if (!doc) return out;
  // The test definition is named diorace; LAVA prefixes its suite with the
  // definition's index (0_diorace).
  std::map<std::string, std::string> theirs;
  if (server.is_array())
    for (const auto& t : server) {
      if (!t.is_object() || !t.contains("suite") || !t.contains("name") || !t.contains("result")) continue;
      const auto suite = t["suite"].is_string() ? t["suite"].get<std::string>() : std::string();
      const auto us = suite.find('_');
      if (us == std::string::npos || suite.substr(us + 1) != "diorace" || !t["name"].is_string()) continue;
      theirs[t["name"].get<std::string>()] = t["result"].is_string() ? t["result"].get<std::string>() : "";
    }
  std::map<std::string, std::string> ours;
  for (const auto& c : doc->cases) ours[lava_case_name(c)] = lava_result(c.verdict);
  if (doc->cases.empty()) ours["diorace.harness"] = "fail";
  for (const auto& [name, result] : ours) {
    auto it = theirs.find(name);
    if (it == theirs.end())
      out.push_back(name + ": " + result + " in the log, not among the server's results");
    else if (it->second != result)
      out.push_back(name + ": " + result + " in the log, " + it->second + " on the server");
  }
  for (const auto& [name, result] : theirs)
    if (!ours.count(name)) out.push_back(name + ": " + result + " on the server, not in the log's run document");
  return out;
}

}  // namespace diorace
