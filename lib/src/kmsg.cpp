// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/kmsg.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <regex>

namespace diorace {

namespace {

bool ends_block(std::string_view line) {
  return line.find("---[ end trace") != std::string_view::npos ||
         line.find("==================================================================") != std::string_view::npos;
}

std::string normalise(const std::string& s) {
  static const std::regex hex("0x[0-9a-fA-F]+|[0-9]+");
  return std::regex_replace(s, hex, "N");
}

}  // namespace

std::vector<Splat> extract_splats(const std::vector<std::string>& lines, const std::vector<std::string>& ignore) {
  std::vector<std::regex> ig;
  for (const auto& p : ignore) ig.emplace_back(p);
  auto ignored = [&](const std::string& l) {
    for (const auto& r : ig)
      if (std::regex_search(l, r)) return true;
    return false;
  };
  std::vector<Splat> out;
  std::map<std::string, size_t> seen;
  constexpr size_t kMaxBlock = 200;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string cls = classify_kmsg_line(lines[i]);
    if (cls.empty() || ignored(lines[i])) continue;
    Splat s{cls, lines[i], lines[i]};
    size_t j = i + 1;
    for (; j < lines.size() && j - i < kMaxBlock; ++j) {
      // Another splat opening ends this block, unless it is the second line of
      // the same report (lockdep's "WARNING: possible circular ...").
      if (!classify_kmsg_line(lines[j]).empty() && j > i + 1) break;
      s.text += "\n" + lines[j];
      if (ends_block(lines[j])) {
        ++j;
        break;
      }
    }
    // A report's own headline can come a line after its opener ("BUG: ..."
    // then the detail): take the most specific class seen in the first lines.
    for (size_t k = i + 1; k < std::min(j, i + 3); ++k) {
      std::string c2 = classify_kmsg_line(lines[k]);
      if (!c2.empty() && (s.cls == "warning" || s.cls == "bug")) {
        s.cls = c2;
        s.title = lines[k];
      }
    }
    i = j - 1;
    std::string key = s.cls + "|" + normalise(s.title);
    if (auto it = seen.find(key); it != seen.end()) {
      out[it->second].count++;
      continue;
    }
    seen[key] = out.size();
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<KmsgCapture> KmsgCapture::start(const std::string& marker, std::string& why, const std::string& path) {
  int err = 0;
  auto rfd = UniqueFd::try_open(path, O_RDONLY | O_NONBLOCK, err);
  if (!rfd) {
    why = path + ": " + std::strerror(-err);
    return std::nullopt;
  }
  if (::lseek(rfd.get(), 0, SEEK_END) < 0) {
    why = path + ": seek: " + std::strerror(errno);
    return std::nullopt;
  }
  auto wfd = UniqueFd::try_open(path, O_WRONLY, err);
  if (!wfd) {
    why = path + ": cannot write the marker: " + std::strerror(-err);
    return std::nullopt;
  }
  std::string line = "<5>" + marker + "\n";
  if (::write(wfd.get(), line.data(), line.size()) < 0) {
    why = path + ": cannot write the marker: " + std::strerror(errno);
    return std::nullopt;
  }
  return KmsgCapture(std::move(rfd), marker);
}

KmsgCapture::Read KmsgCapture::read_record(const std::string& end_marker) {
  // One record per read; a small buffer makes read() fail with EINVAL.
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf - 1);
    if (n < 0) {
      if (errno == EINTR || errno == EPIPE) continue;  // EPIPE: records overwritten, go on with the next
      return errno == EAGAIN ? Read::none : Read::end;
    }
    if (n == 0) return Read::end;  // a plain file (tests): nothing more
    std::string_view rec(buf, static_cast<size_t>(n));
    auto semi = rec.find(';');
    if (semi == std::string_view::npos) continue;
    std::string_view msg = rec.substr(semi + 1);
    // Continuation lines (" KEY=VALUE") follow the message after a newline.
    if (auto nl = msg.find('\n'); nl != std::string_view::npos) msg = msg.substr(0, nl);
    // diorace's own markers are user records (only for finding the window).
    if (!seen_marker_) {
      if (msg.find(marker_) != std::string_view::npos) seen_marker_ = true;
      continue;
    }
    if (!end_marker.empty() && msg.find(end_marker) != std::string_view::npos) return Read::end;
    // Evidence comes from the kernel alone: user space cannot write a
    // facility-0 record (devkmsg_write turns facility 0 into LOG_USER), so
    // any other facility is a line some process wrote, never a splat. The
    // one exception is the harness self-test's source (test-only cases).
    const auto facility = kmsg_record_facility(rec);
    if (!facility) continue;
    if (*facility != 0) {
      if (!accept_selftest_records_ || msg.rfind(kSelftestRecordPrefix, 0) != 0) {
        ++user_records_dropped_;
        continue;
      }
    }
    // Unescape \xNN sequences the kernel uses for non-printable bytes.
    std::string clean;
    for (size_t i = 0; i < msg.size(); ++i) {
      if (msg[i] == '\\' && i + 3 < msg.size() && msg[i + 1] == 'x') {
        clean += static_cast<char>(std::stoi(std::string(msg.substr(i + 2, 2)), nullptr, 16));
        i += 3;
      } else {
        clean += msg[i];
      }
    }
    lines_.push_back(std::move(clean));
    return Read::line;
  }
}

const std::vector<std::string>& KmsgCapture::poll() {
  while (read_record("") == Read::line) {
  }  // the live watch runs at the end of the log: "end" here is only a read error
  return lines_;
}

std::vector<std::string> KmsgCapture::collect() {
  // A record becomes readable only once it is finalized (a record without a
  // newline waits for the next one), so write an end marker and read up to
  // it: everything logged before it is then visible.
  const std::string end_marker = marker_ + " end";
  int err = 0;
  if (auto wfd = UniqueFd::try_open("/dev/kmsg", O_WRONLY, err)) {
    std::string line = "<5>" + end_marker + "\n";
    (void)::write(wfd.get(), line.data(), line.size());
  }
  for (int idle = 0; idle < 100;) {
    Read r = read_record(end_marker);
    if (r == Read::end) break;
    if (r == Read::none) {  // the end marker is not there yet
      ++idle;
      ::usleep(10000);
    }
  }
  return lines_;
}

}  // namespace diorace
