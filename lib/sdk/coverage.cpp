// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/coverage.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "diorace/fd.hpp"

namespace diorace {

namespace {
bool append(const std::string& path, const std::string& line, std::string& why) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    why = path + ": " + std::strerror(errno);
    return false;
  }
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) {
    why = "'" + line.substr(0, line.size() - 1) + "' -> " + path + ": " + std::strerror(err);
    return false;
  }
  return true;
}
}  // namespace

std::string tracefs_root() {
  for (const char* p : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (::access((std::string(p) + "/kprobe_events").c_str(), W_OK) == 0) return p;
  return "";
}

std::optional<KprobeSet> KprobeSet::create(const std::vector<ProbeSpec>& specs, std::string& why) {
  KprobeSet set;
  set.tracefs_ = tracefs_root();
  if (set.tracefs_.empty()) {
    why = "no tracefs with kprobe_events (kernel without CONFIG_KPROBE_EVENTS, or tracefs not mounted)";
    return std::nullopt;
  }
  set.group_ = "diorace_" + std::to_string(::getpid());
  for (const auto& s : specs) {
    if (!append(set.tracefs_ + "/kprobe_events", "p:" + set.group_ + "/" + s.symbol + " " + s.symbol + "\n", why)) {
      set.remove();
      return std::nullopt;
    }
    set.specs_.push_back(s);  // defined: remove() takes it away again, also if enabling it fails
    if (!append(set.tracefs_ + "/events/" + set.group_ + "/" + s.symbol + "/enable", "1\n", why)) {
      set.remove();
      return std::nullopt;
    }
  }
  if (set.counts().size() != set.specs_.size()) {
    why = "kprobe_profile does not list diorace's probes";
    set.remove();
    return std::nullopt;
  }
  return set;
}

std::map<std::string, uint64_t> KprobeSet::counts() const {
  std::map<std::string, uint64_t> out;
  std::string text;
  if (!try_read_file(tracefs_ + "/kprobe_profile", text)) return out;
  // "  EVENT  HITS  MISSES" per probe; the event name comes without its
  // group (and with it on some kernels), so match on the name after any '/'.
  std::istringstream in(text);
  std::string name;
  uint64_t hits, misses;
  while (in >> name >> hits >> misses) {
    auto slash = name.find('/');
    if (slash != std::string::npos) {
      if (name.substr(0, slash) != group_) continue;
      name = name.substr(slash + 1);
    }
    for (const auto& s : specs_)
      if (s.symbol == name) out[name] = hits;
  }
  return out;
}

uint64_t KprobeSet::race_hits(const std::map<std::string, uint64_t>& before,
                              const std::map<std::string, uint64_t>& after) const {
  uint64_t hits = 0;
  for (const auto& s : specs_) {
    auto a = after.find(s.symbol), b = before.find(s.symbol);
    uint64_t n = (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
    hits += s.meaning == "count" ? n : (n > 1 ? n - 1 : 0);
  }
  return hits;
}

void KprobeSet::remove() noexcept {
  if (group_.empty()) return;
  std::string why;
  for (const auto& s : specs_) append(tracefs_ + "/events/" + group_ + "/" + s.symbol + "/enable", "0\n", why);
  for (const auto& s : specs_) append(tracefs_ + "/kprobe_events", "-:" + group_ + "/" + s.symbol + "\n", why);
  group_.clear();
  specs_.clear();
}

}  // namespace diorace
