// SPDX-License-Identifier: GPL-2.0-or-later
// The LAVA side a guest or a board needs: case names and results, and the
// run document carried through the job's log (no store, no YAML: the static
// guest binary has this too).
#include <sys/klog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cctype>
#include <string_view>
#include <sstream>

#include <fmt/format.h>

#include "diorace/hash.hpp"
#include "diorace/fd.hpp"
#include "diorace/lava.hpp"
#include "diorace/process.hpp"

namespace diorace {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<uint8_t>(in[i + 2]);
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kB64[v & 63] : '=');
  }
  return out;
}

std::optional<std::string> unbase64(const std::string& in) {
  std::string out;
  uint32_t v = 0;
  int bits = 0;
  for (char ch : in) {
    if (ch == '=') break;
    const char* p = std::strchr(kB64, ch);
    if (!p || !ch) return std::nullopt;
    v = (v << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((v >> bits) & 0xff));
    }
  }
  return out;
}

constexpr const char* kBegin = "DIORACE-DOCUMENT-BEGIN";
constexpr const char* kEnd = "DIORACE-DOCUMENT-END";

}  // namespace

std::string lava_case_name(const CaseResult& c) {
  auto part = [](const std::string& s) {
    std::string out;
    for (char ch : s) out.push_back(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ? ch : '_');
    return out.empty() ? std::string("_") : out;
  };
  return "diorace." + part(c.name) + (c.variant.empty() ? "" : "." + part(c.variant));
}

std::string lava_result(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::skip: return "skip";
    default: return "unknown";
  }
}

std::string lava_document_block(const RunRecord& record) {
  const std::string json = nlohmann::json(record).dump();
  const std::string b = base64(json);
  std::string out = fmt::format("{} bytes={} xxh3={}\n", kBegin, json.size(), stable_hash_hex(json));
  for (size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\n";
  return out + kEnd + "\n";
}

namespace {

// Parses "DIORACE-DOCUMENT-BEGIN bytes=N xxh3=HEX" anywhere in a line, with
// bounds (the log comes from an untrusted guest): at most 9 digits and a
// document of at most kMaxDocument bytes, at most 32 hex digits.
constexpr size_t kMaxDocument = 64u << 20;
bool parse_begin(const std::string& line, size_t& bytes, std::string& sum) {
  const size_t at = line.find(kBegin);
  if (at == std::string::npos) return false;
  std::string_view rest(line);
  rest.remove_prefix(at + std::strlen(kBegin));
  if (rest.rfind(" bytes=", 0) != 0) return false;
  rest.remove_prefix(7);
  size_t n = 0, digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) {
    if (digits == 9) return false;
    n = n * 10 + static_cast<size_t>(rest[digits] - '0');
    ++digits;
  }
  if (digits == 0 || n > kMaxDocument) return false;
  rest.remove_prefix(digits);
  if (rest.rfind(" xxh3=", 0) != 0) return false;
  rest.remove_prefix(6);
  size_t h = 0;
  while (h < rest.size() && h <= 32 && std::isxdigit(static_cast<unsigned char>(rest[h]))) ++h;
  if (h == 0 || h > 32) return false;
  bytes = n;
  sum = std::string(rest.substr(0, h));
  return true;
}

// A kernel message's timestamp "[   12.345678]" at `at` of the line.
bool kernel_stamp_at(const std::string& line, size_t at) {
  size_t i = at + 1;
  while (i < line.size() && line[i] == ' ') ++i;
  const size_t digits = i;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  if (i == digits || i >= line.size() || line[i] != '.') return false;
  const size_t frac = ++i;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  return i > frac && i < line.size() && line[i] == ']';
}

// The base64 a document line carries: the last run of base64 characters (a
// console line may carry a prefix), cut where a kernel message written on
// the same console broke into it ("QUJD[   12.3] loop0: ..." carries "QUJD";
// the rest of the document line follows on the next line).
std::string payload_of(const std::string& line) {
  size_t end = line.size();
  for (size_t at = line.find('['); at != std::string::npos; at = line.find('[', at + 1))
    if (kernel_stamp_at(line, at)) {
      end = at;
      break;
    }
  const std::string head = line.substr(0, end);
  const size_t s = head.find_last_not_of(kB64 + std::string("="));
  return s == std::string::npos ? head : head.substr(s + 1);
}

}  // namespace

std::optional<RunRecord> find_lava_document(const std::string& log, std::string& why) {
  std::optional<RunRecord> found;
  why = "no " + std::string(kBegin) + " line in the log";
  std::istringstream is(log);
  std::string line;
  while (std::getline(is, line)) {
    size_t bytes = 0;
    std::string sum;
    if (!parse_begin(line, bytes, sum)) continue;
    std::string b64;
    bool ended = false;
    while (std::getline(is, line)) {
      // Console lines may carry a carriage return or a prefix; the payload is
      // the last run of base64 characters on the line.
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.find(kEnd) != std::string::npos) {
        ended = true;
        break;
      }
      b64 += payload_of(line);
      if (b64.size() > kMaxDocument / 3 * 4 + 8) break;  // longer than any document it announced
    }
    if (!ended) {
      why = "the run document in the log is cut off (no end marker)";
      continue;
    }
    auto json = unbase64(b64);
    if (!json || json->size() != bytes || stable_hash_hex(*json) != sum) {
      why = "the run document in the log is damaged (length or checksum differs)";
      continue;
    }
    try {
      found = nlohmann::json::parse(*json).get<RunRecord>();
    } catch (const std::exception& e) {
      why = std::string("the run document in the log is not a run record: ") + e.what();
    }
  }
  return found;
}

namespace {

// Only emergencies on the console while the document is printed: a kernel
// message on the same serial console would land inside its lines. The level
// before is put back (syslog(2) SYSLOG_ACTION_CONSOLE_LEVEL, as dmesg -n).
class QuietConsole {
 public:
  QuietConsole() {
    std::string printk;
    if (!try_read_file("/proc/sys/kernel/printk", printk)) return;
    const int level = std::atoi(printk.c_str());
    if (level > 1 && ::klogctl(8, nullptr, 1) == 0) old_ = level;
  }
  QuietConsole(const QuietConsole&) = delete;
  QuietConsole& operator=(const QuietConsole&) = delete;
  ~QuietConsole() {
    if (old_ > 0) (void)::klogctl(8, nullptr, old_);
  }

 private:
  int old_ = -1;
};

}  // namespace

int lava_report_document(const std::string& path) {
  const bool helper = have_program("lava-test-case");
  auto report = [&](const std::string& name, const std::string& result) {
    if (helper) {
      auto r = run_command({"lava-test-case", name, "--result", result});
      std::fputs(r.output.c_str(), stdout);
    } else {
      std::printf("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=%s RESULT=%s>\n", name.c_str(), result.c_str());
    }
    std::fflush(stdout);
  };
  std::string text;
  RunRecord rec;
  try {
    if (!try_read_file(path, text)) throw std::runtime_error("cannot read " + path);
    rec = nlohmann::json::parse(text.substr(0, text.find('\0'))).get<RunRecord>();
  } catch (const std::exception& e) {
    std::printf("diorace: no run document: %s\n", e.what());
    report("diorace.harness", "fail");
    return 0;
  }
  for (const auto& c : rec.cases) report(lava_case_name(c), lava_result(c.verdict));
  if (rec.cases.empty()) report("diorace.harness", "fail");  // a run with no case is no pass
  QuietConsole quiet;
  std::fputs(lava_document_block(rec).c_str(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace diorace
