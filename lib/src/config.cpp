// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"

namespace diorace {

namespace {

const std::set<std::string> kKeys = {"TEST_DIR", "TEST_DEV",     "SCRATCH_DEV", "FSTYPE",
                                     "MKFS_OPTIONS", "FORCE_DEVICE", "KERNELS"};

std::vector<std::string> words(const std::string& s) {
  std::istringstream is(s);
  std::vector<std::string> out;
  for (std::string w; is >> w;) out.push_back(w);
  return out;
}

// Reads a config file: its global keys and those of `section` (checked:
// readable, text, known keys, each key and section once, the section there).
void read_config_file(const std::string& path, const std::string& section, std::map<std::string, std::string>& global,
                      std::map<std::string, std::string>& in_section) {
  namespace po = boost::program_options;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw UsageError("--config " + path + ": is a directory");
  std::string text;
  if (!try_read_file(path, text)) throw UsageError("--config " + path + ": cannot be read");
  if (auto nul = text.find('\0'); nul != std::string::npos)
    throw UsageError("--config " + path + ": line " +
                     std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<long>(nul), '\n')) +
                     " holds a NUL byte (not a text file?)");
  // A byte-order mark (some editors write one) is not part of the first key.
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  // A section given twice would silently merge, its later keys winning.
  {
    std::istringstream lines(text);
    std::set<std::string> headers;
    size_t n = 0;
    for (std::string line; std::getline(lines, line);) {
      ++n;
      const auto b = line.find_first_not_of(" \t");
      if (b == std::string::npos || line[b] != '[') continue;
      const auto e = line.find(']', b);
      const std::string name = line.substr(b + 1, e == std::string::npos ? std::string::npos : e - b - 1);
      if (!headers.insert(name).second)
        throw UsageError("--config " + path + ": line " + std::to_string(n) + ": section [" + name +
                         "] appears twice");
    }
  }
  std::istringstream in(text);
  std::set<std::string> sections;
  std::set<std::string> given;
  po::options_description none;
  po::parsed_options parsed(&none);
  try {
    parsed = po::parse_config_file(in, none, true);
  } catch (const po::error& e) {
    throw UsageError("--config " + path + ": " + e.what());
  }
  for (const auto& o : parsed.options) {
    std::string key = o.string_key, sect;
    if (auto dot = key.find('.'); dot != std::string::npos) {
      sect = key.substr(0, dot);
      key = key.substr(dot + 1);
      sections.insert(sect);
    }
    if (!kKeys.count(key))
      throw UsageError("--config " + path + ": unknown key '" + key +
                       "' (TEST_DIR, TEST_DEV, SCRATCH_DEV, FSTYPE, MKFS_OPTIONS, FORCE_DEVICE, KERNELS)");
    std::string value = o.value.empty() ? "" : o.value.front();
    if (!given.insert(o.string_key).second)
      throw UsageError("--config " + path + ": key " + key + " given twice" +
                       (sect.empty() ? std::string(" in the global keys") : " in [" + sect + "]"));
    if (sect.empty())
      global[key] = value;
    else if (sect == section)
      in_section[key] = value;
  }
  if (!section.empty() && !sections.count(section))
    throw UsageError("--config " + path + ": no section [" + section + "]");
}

}  // namespace

TargetSettings target_settings(const std::string& config_path, const std::string& section_arg) {
  TargetSettings t;
  std::string path = config_path;
  if (path.empty())
    if (const char* e = std::getenv("DIORACE_CONFIG")) path = e;
  std::string section = section_arg;
  if (section.empty())
    if (const char* e = std::getenv("DIORACE_SECTION")) section = e;
  std::map<std::string, std::string> global, in_section;
  if (!path.empty()) {
    read_config_file(path, section, global, in_section);
    t.source = path;
  } else if (!section.empty()) {
    throw UsageError("--section " + section + " needs --config FILE");
  }
  auto pick = [&](const char* key, const char* env) -> std::string {
    if (const char* e = std::getenv(env); e && *e) return e;
    if (auto it = in_section.find(key); it != in_section.end()) return it->second;
    if (auto it = global.find(key); it != global.end()) return it->second;
    return "";
  };
  t.test_dir = pick("TEST_DIR", "DIORACE_TEST_DIR");
  t.test_dev = pick("TEST_DEV", "DIORACE_TEST_DEV");
  t.scratch_dev = pick("SCRATCH_DEV", "DIORACE_SCRATCH_DEV");
  t.fstype = pick("FSTYPE", "DIORACE_FSTYPE");
  if (!t.fstype.empty() && t.fstype != "ext4" && t.fstype != "xfs") {
    const char* e = std::getenv("DIORACE_FSTYPE");
    throw UsageError((e && *e ? std::string("DIORACE_FSTYPE ") : "FSTYPE in " + path + " ") + "'" + t.fstype +
                     "': the filesystem cases make ext4 or xfs");
  }
  t.mkfs_options = pick("MKFS_OPTIONS", "DIORACE_MKFS_OPTIONS");
  t.force_device = words(pick("FORCE_DEVICE", "DIORACE_FORCE_DEVICE"));
  t.kernels = words(pick("KERNELS", "DIORACE_KERNELS"));
  return t;
}

}  // namespace diorace
