// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/program.hpp"

#include <linux/fs.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>

namespace diorace {

namespace {

constexpr std::pair<OpKind, const char*> kOpNames[] = {
    {OpKind::read, "read"},         {OpKind::write, "write"}, {OpKind::truncate, "truncate"},
    {OpKind::fallocate, "fallocate"}, {OpKind::fsync, "fsync"}, {OpKind::fork, "fork"},
    {OpKind::recreate, "recreate"}, {OpKind::wait, "wait"},   {OpKind::freeze, "freeze"},
    {OpKind::uffd, "uffd"},         {OpKind::madvise, "madvise"}, {OpKind::mprotect, "mprotect"},
};
constexpr std::pair<Api, const char*> kApiNames[] = {
    {Api::psync, "psync"}, {Api::pv2, "pv2"}, {Api::libaio, "libaio"}, {Api::uring, "uring"}, {Api::mmap, "mmap"}};
constexpr std::pair<Advice, const char*> kAdviceNames[] = {
    {Advice::dontneed, "dontneed"}, {Advice::cold, "cold"},         {Advice::pageout, "pageout"},
    {Advice::free_, "free"},        {Advice::hugepage, "hugepage"}, {Advice::nohugepage, "nohugepage"}};
constexpr std::pair<Ring, const char*> kRingNames[] = {{Ring::plain, "plain"},   {Ring::iopoll, "iopoll"},
                                                        {Ring::sqpoll, "sqpoll"}, {Ring::async, "async"},
                                                        {Ring::fixed, "fixed"}};
constexpr std::pair<Falloc, const char*> kFallocNames[] = {{Falloc::plain, "plain"},
                                                            {Falloc::keep_size, "keep_size"},
                                                            {Falloc::punch_hole, "punch_hole"},
                                                            {Falloc::zero_range, "zero_range"},
                                                            {Falloc::zero_keep, "zero_keep"},
                                                            {Falloc::collapse, "collapse_range"},
                                                            {Falloc::insert, "insert_range"}};

template <typename E, size_t N>
const char* name_of(const std::pair<E, const char*> (&table)[N], E v) {
  for (const auto& [e, n] : table)
    if (e == v) return n;
  return "?";
}

template <typename E, size_t N>
E value_of(const std::pair<E, const char*> (&table)[N], const std::string& name, const char* what) {
  for (const auto& [e, n] : table)
    if (name == n) return e;
  throw std::invalid_argument(fmt::format("unknown {} '{}'", what, name));
}

template <typename E, size_t N>
bool known(const std::pair<E, const char*> (&table)[N], const std::string& name) {
  return std::any_of(std::begin(table), std::end(table), [&](const auto& p) { return name == p.second; });
}

// Draws a key of a weight table (all weights 0: the first key).
const std::string& pick(const std::map<std::string, unsigned>& table, std::mt19937_64& rng) {
  uint64_t total = 0;
  for (const auto& [k, w] : table) total += w;
  if (total == 0) return table.begin()->first;
  uint64_t r = rng() % total;
  for (const auto& [k, w] : table) {
    if (r < w) return k;
    r -= w;
  }
  return table.begin()->first;
}

uint64_t below(std::mt19937_64& rng, uint64_t n) { return n ? rng() % n : 0; }
bool percent(std::mt19937_64& rng, unsigned p) { return below(rng, 100) < p; }

// Offsets: block-aligned, near the sizes files start with (EOF crossings),
// or any sector; buffered I/O also gets byte-granular ones.
uint64_t draw_offset(std::mt19937_64& rng, const Program& p, unsigned file, bool sector_aligned) {
  const uint64_t max = p.max_size;
  const unsigned r = below(rng, 10);
  uint64_t off;
  if (r < 4) {
    off = below(rng, max / 4096) * 4096;
  } else if (r < 7) {
    const uint64_t eof = p.initial_sizes[file];
    const int64_t delta = static_cast<int64_t>(below(rng, 33)) - 16;  // +-16 sectors
    off = static_cast<uint64_t>(std::clamp<int64_t>(static_cast<int64_t>(eof) + delta * 512, 0,
                                                    static_cast<int64_t>(max) - 512));
    off &= ~uint64_t{511};
  } else {
    off = below(rng, max / 512) * 512;
  }
  if (!sector_aligned && percent(rng, 30)) off = std::min<uint64_t>(max - 1, off + below(rng, 512));
  return off;
}

uint64_t draw_length(std::mt19937_64& rng, bool sector_aligned) {
  static constexpr uint64_t kLengths[] = {512, 1024, 4096, 4096, 8192, 12288, 16384, 65536};
  if (!sector_aligned && percent(rng, 30)) return 1 + below(rng, 600);
  if (percent(rng, 25)) return (1 + below(rng, 128)) * 512;
  return kLengths[below(rng, std::size(kLengths))];
}

// A file slot: any of the program's, or the actor's own focus (>= 0).
unsigned draw_file(std::mt19937_64& rng, const Program& p, int focus) {
  const auto f = static_cast<unsigned>(below(rng, p.files));
  return focus >= 0 ? static_cast<unsigned>(focus) : f;
}

Op draw_io(const GeneratorConfig& cfg, const Program& p, std::mt19937_64& rng, OpKind kind, int focus) {
  Op o;
  o.kind = kind;
  o.file = draw_file(rng, p, focus);
  o.direct = percent(rng, cfg.direct_percent);
  o.api = value_of(kApiNames, pick(cfg.engines, rng), "engine");
  if (o.api == Api::uring) {
    o.ring = value_of(kRingNames, pick(cfg.rings, rng), "ring");
    if (o.ring == Ring::iopoll && !o.direct) o.ring = Ring::plain;  // IOPOLL is O_DIRECT only (R4)
  }
  if (o.api == Api::pv2) {
    static constexpr int kFlags[] = {0, RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT};
    o.rwf = kFlags[below(rng, std::size(kFlags))];
  }
  if (o.api == Api::libaio || o.api == Api::uring) o.async = percent(rng, cfg.async_percent);
  o.offset = draw_offset(rng, p, o.file, o.direct);
  o.length = std::min<uint64_t>(draw_length(rng, o.direct), p.max_size);
  o.misalign = static_cast<uint32_t>(below(rng, 8) * 512);
  if (o.api == Api::mmap) {
    // Through the page cache, within the file's first size (mapped pages
    // past the end of a file fault with SIGBUS; generate_program keeps mmap
    // off files whose size may shrink).
    const uint64_t size = p.is_loop(o.file) ? p.max_size : p.initial_sizes[o.file];
    o.direct = false;
    if (size == 0) {
      o.api = Api::psync;
    } else {
      o.offset = std::min(o.offset, size - 1);
      o.length = std::clamp<uint64_t>(o.length, 1, size - o.offset);
      o.datasync = o.kind == OpKind::write && percent(rng, 30);  // msync(MS_SYNC) after the stores
    }
  }
  return o;
}

Op draw_op(const GeneratorConfig& cfg, const Program& p, std::mt19937_64& rng, int focus) {
  const OpKind kind = value_of(kOpNames, pick(cfg.weights, rng), "operation");
  Op o;
  switch (kind) {
    case OpKind::read:
    case OpKind::write:
      o = draw_io(cfg, p, rng, kind, focus);
      break;
    case OpKind::truncate:
    case OpKind::recreate: {
      o.kind = kind;
      o.file = draw_file(rng, p, focus);
      static constexpr uint64_t kSizes[] = {0, 4096, 4096, 12288};
      o.length = std::min(p.max_size, percent(rng, 50) ? kSizes[below(rng, std::size(kSizes))] : below(rng, p.max_size + 1));
      break;
    }
    case OpKind::fallocate:
      o.kind = kind;
      o.file = draw_file(rng, p, focus);
      o.mode = static_cast<Falloc>(below(rng, std::size(kFallocNames)));
      o.offset = draw_offset(rng, p, o.file, true);
      o.length = draw_length(rng, true);
      if (shifts(o.mode)) {  // block-aligned (4 KiB: ext4's and xfs's block size here), within the generator's range
        o.offset = std::min<uint64_t>(o.offset & ~uint64_t{4095}, p.max_size - 4096);
        o.length = 4096 * (1 + below(rng, 4));
      }
      break;
    case OpKind::fsync:
      o.kind = kind;
      o.file = draw_file(rng, p, focus);
      o.datasync = percent(rng, 50);
      break;
    case OpKind::fork:
      o.kind = kind;
      o.touch = percent(rng, 50);
      o.hold_us = static_cast<uint32_t>(below(rng, 2000));
      break;
    case OpKind::wait:
      o.kind = kind;
      break;
    case OpKind::freeze:
      o.kind = kind;
      o.hold_us = static_cast<uint32_t>(1000 + below(rng, 50000));
      break;
    case OpKind::uffd:
      o.kind = kind;
      o.hold_us = static_cast<uint32_t>(1000 + below(rng, 25000));
      break;
    case OpKind::madvise:
      o.kind = kind;
      o.advice = static_cast<Advice>(below(rng, std::size(kAdviceNames)));
      break;
    case OpKind::mprotect:
      o.kind = kind;
      o.hold_us = static_cast<uint32_t>(below(rng, 2000));
      break;
  }
  if (percent(rng, cfg.spin_percent)) o.spin = static_cast<uint32_t>(below(rng, 2000));
  if (p.is_loop(o.file)) {
    // A loop device has a fixed size: no size changes, nothing past its end.
    if (o.kind == OpKind::truncate || o.kind == OpKind::fallocate || o.kind == OpKind::recreate) o.file = 0;
    if ((o.kind == OpKind::read || o.kind == OpKind::write) && o.offset + o.length > p.max_size)
      o.length = p.max_size - o.offset;
    if (o.length == 0) o.length = 512, o.offset = p.max_size - 512;
  }
  return o;
}

}  // namespace

std::string_view op_kind_name(OpKind k) noexcept { return name_of(kOpNames, k); }

std::string Op::shape() const {
  switch (kind) {
    case OpKind::read:
    case OpKind::write: {
      std::string s = fmt::format("{}.{}.{}", op_kind_name(kind), direct ? "direct" : "buffered", name_of(kApiNames, api));
      if (api == Api::uring) s += std::string("-") + name_of(kRingNames, ring);
      if (uffd) s += ".uffd";
      return s;
    }
    case OpKind::fallocate:
      return fmt::format("fallocate.{}", name_of(kFallocNames, mode));
    case OpKind::madvise:
      return fmt::format("madvise.{}", name_of(kAdviceNames, advice));
    default:
      return std::string(op_kind_name(kind));
  }
}

void to_json(nlohmann::json& j, const Op& o) {
  j = {{"op", op_kind_name(o.kind)}};
  switch (o.kind) {
    case OpKind::read:
    case OpKind::write:
      j.update({{"file", o.file}, {"offset", o.offset}, {"length", o.length}, {"direct", o.direct},
                {"api", name_of(kApiNames, o.api)}, {"misalign", o.misalign}});
      if (o.api == Api::uring) j["ring"] = name_of(kRingNames, o.ring);
      if (o.api == Api::pv2) j["rwf"] = o.rwf;
      if (o.async) j["async"] = true;
      if (o.uffd) j["uffd"] = true;
      if (o.api == Api::mmap && o.kind == OpKind::write && o.datasync) j["msync"] = true;
      break;
    case OpKind::truncate:
    case OpKind::recreate:
      j.update({{"file", o.file}, {"length", o.length}});
      break;
    case OpKind::fallocate:
      j.update({{"file", o.file}, {"offset", o.offset}, {"length", o.length}, {"mode", name_of(kFallocNames, o.mode)}});
      break;
    case OpKind::fsync:
      j.update({{"file", o.file}, {"datasync", o.datasync}});
      break;
    case OpKind::fork:
      j.update({{"touch", o.touch}, {"hold_us", o.hold_us}});
      break;
    case OpKind::freeze:
    case OpKind::uffd:
    case OpKind::mprotect:
      j["hold_us"] = o.hold_us;
      break;
    case OpKind::madvise:
      j["advice"] = name_of(kAdviceNames, o.advice);
      break;
    case OpKind::wait:
      break;
  }
  if (o.spin) j["spin"] = o.spin;
  if (o.after_actor >= 0) j["after"] = nlohmann::json::array({static_cast<unsigned>(o.after_actor), o.after_op});
}

void from_json(const nlohmann::json& j, Op& o) {
  o = Op{};
  o.kind = value_of(kOpNames, j.at("op").get<std::string>(), "operation");
  o.file = j.value("file", 0u);
  o.offset = j.value("offset", uint64_t{0});
  o.length = j.value("length", uint64_t{0});
  o.direct = j.value("direct", false);
  o.api = value_of(kApiNames, j.value("api", std::string("psync")), "api");
  o.ring = value_of(kRingNames, j.value("ring", std::string("plain")), "ring");
  o.async = j.value("async", false);
  o.rwf = j.value("rwf", 0);
  o.mode = value_of(kFallocNames, j.value("mode", std::string("plain")), "fallocate mode");
  o.datasync = j.value("datasync", false) || j.value("msync", false);
  o.advice = value_of(kAdviceNames, j.value("advice", std::string("dontneed")), "madvise advice");
  o.touch = j.value("touch", false);
  o.uffd = j.value("uffd", false);
  o.misalign = j.value("misalign", 0u);
  o.spin = j.value("spin", 0u);
  o.hold_us = j.value("hold_us", 0u);
  if (j.contains("after")) {
    const auto& a = j.at("after");
    if (!a.is_array() || a.size() != 2 || !a[0].is_number_integer() || !a[1].is_number_integer() ||
        a[0].get<int64_t>() < 0 || a[1].get<int64_t>() < 0 || a[0].get<int64_t>() > 63 ||
        a[1].get<int64_t>() > UINT32_MAX)
      throw std::invalid_argument("after is [actor, op]");
    o.after_actor = a[0].get<int>();
    o.after_op = a[1].get<uint32_t>();
  }
  if (o.misalign % 512 || o.misalign > 3584) throw std::invalid_argument("misalign must be a multiple of 512 up to 3584");
  if ((o.kind == OpKind::read || o.kind == OpKind::write) && (o.length == 0 || o.length > 1024 * 1024))
    throw std::invalid_argument("a read or write of 1 byte to 1 MiB");
  if (o.async && o.api != Api::libaio && o.api != Api::uring)
    throw std::invalid_argument("only libaio and uring requests can be asynchronous");
  if (o.hold_us > 5'000'000) throw std::invalid_argument("hold_us at most 5 s");
  if (o.api == Api::mmap && o.direct) throw std::invalid_argument("an mmap read or write goes through the page cache (direct: false)");
  if (o.uffd && (o.kind != OpKind::read || (o.api != Api::psync && o.api != Api::pv2)))
    throw std::invalid_argument("a userfaultfd buffer is for psync and pv2 reads only");
}

bool uses_file(const Op& o) noexcept {
  return o.kind == OpKind::read || o.kind == OpKind::write || o.kind == OpKind::truncate ||
         o.kind == OpKind::fallocate || o.kind == OpKind::fsync || o.kind == OpKind::recreate;
}

bool freeze_safe(const Program& p) {
  bool freeze = false, uring_write_in_flight = false;
  for (const auto& a : p.actors)
    for (const auto& o : a.ops) {
      freeze |= o.kind == OpKind::freeze;
      uring_write_in_flight |= o.kind == OpKind::write && o.api == Api::uring && o.async;
    }
  return !(freeze && uring_write_in_flight);
}

bool Program::is_loop(unsigned file) const noexcept {
  return std::find(loops.begin(), loops.end(), file) != loops.end();
}

bool Program::has(OpKind k) const noexcept {
  for (const auto& a : actors)
    for (const auto& o : a.ops)
      if (o.kind == k) return true;
  return false;
}

size_t Program::op_count() const noexcept {
  size_t n = 0;
  for (const auto& a : actors) n += a.ops.size();
  return n;
}

void Program::erase_actor(size_t a) {
  actors.erase(actors.begin() + static_cast<long>(a));
  for (auto& x : actors)
    for (auto& o : x.ops) {
      if (o.after_actor < 0 || static_cast<size_t>(o.after_actor) < a) continue;
      if (static_cast<size_t>(o.after_actor) == a) o.after_actor = -1, o.after_op = 0;
      else --o.after_actor;
    }
}

void Program::erase_ops(size_t a, size_t from, size_t to) {
  auto& ops = actors[a].ops;
  to = std::min(to, ops.size());
  if (from >= to) return;
  ops.erase(ops.begin() + static_cast<long>(from), ops.begin() + static_cast<long>(to));
  for (auto& x : actors)
    for (auto& o : x.ops) {
      if (o.after_actor != static_cast<int>(a) || o.after_op < from) continue;
      if (o.after_op < to) o.after_actor = -1, o.after_op = 0;
      else o.after_op -= static_cast<uint32_t>(to - from);
    }
}

void to_json(nlohmann::json& j, const Program& p) {
  nlohmann::json actors = nlohmann::json::array();
  for (const auto& a : p.actors) {
    nlohmann::json actor = {{"ops", a.ops}};
    if (a.process) actor["process"] = true;
    actors.push_back(std::move(actor));
  }
  j = {{"format", Program::kFormat}, {"seed", p.seed},       {"fs", p.fs},         {"files", p.files},
       {"initial_sizes", p.initial_sizes}, {"max_size", p.max_size}, {"actors", actors}};
  if (!p.loops.empty()) j["loops"] = p.loops;
  if (p.packed) j["buffers"] = "packed";
  if (p.file_backed) j["buffer_memory"] = "file";
  if (p.huge) j["huge_pages"] = true;
  if (p.private_file >= 0) j["private_file"] = p.private_file;
}

void from_json(const nlohmann::json& j, Program& p) {
  if (j.value("format", std::string()) != Program::kFormat)
    throw std::invalid_argument(fmt::format("not a program ({} expected in \"format\")", Program::kFormat));
  p = Program{};
  p.seed = j.value("seed", uint64_t{0});
  p.fs = j.value("fs", std::string("ext4"));
  p.files = j.at("files").get<unsigned>();
  p.initial_sizes = j.at("initial_sizes").get<std::vector<uint64_t>>();
  p.max_size = j.value("max_size", uint64_t{64 * 1024});
  if (p.files == 0 || p.files > 16 || p.initial_sizes.size() != p.files)
    throw std::invalid_argument("1 to 16 files, one initial size each");
  if (p.max_size < 4096 || p.max_size > 64 * 1024 * 1024) throw std::invalid_argument("max_size of 4 KiB to 64 MiB");
  p.loops = j.value("loops", std::vector<unsigned>{});
  const std::string buffers = j.value("buffers", std::string("spread"));
  if (buffers != "spread" && buffers != "packed") throw std::invalid_argument("buffers: spread or packed");
  p.packed = buffers == "packed";
  const std::string memory = j.value("buffer_memory", std::string("anon"));
  if (memory != "anon" && memory != "file") throw std::invalid_argument("buffer_memory: anon or file");
  p.file_backed = memory == "file";
  p.huge = j.value("huge_pages", false);
  if (p.huge && p.file_backed) throw std::invalid_argument("huge_pages are for anonymous buffers, not file-backed ones");
  for (unsigned l : p.loops)
    if (l >= p.files) throw std::invalid_argument(fmt::format("loop slot {} of {} files", l, p.files));
  for (const auto& a : j.at("actors")) p.actors.push_back({a.at("ops").get<std::vector<Op>>(), a.value("process", false)});
  if (p.actors.empty() || p.actors.size() > 64) throw std::invalid_argument("1 to 64 actors");
  for (size_t a = 0; a < p.actors.size(); ++a)
    for (const auto& o : p.actors[a].ops)
      if (o.after_actor >= 0 && (static_cast<size_t>(o.after_actor) >= a ||
                                 o.after_op >= p.actors[static_cast<size_t>(o.after_actor)].ops.size()))
        throw std::invalid_argument(fmt::format("actor {}: after [{}, {}] is no operation of a lower actor", a,
                                                o.after_actor, o.after_op));
  for (const auto& a : p.actors)
    for (const auto& o : a.ops) {
      if (o.file >= p.files) throw std::invalid_argument(fmt::format("file {} of {}", o.file, p.files));
      if (p.is_loop(o.file) && (o.kind == OpKind::truncate || o.kind == OpKind::fallocate || o.kind == OpKind::recreate))
        throw std::invalid_argument(fmt::format("{} on loop device slot {}", op_kind_name(o.kind), o.file));
      if (p.is_loop(o.file) && (o.kind == OpKind::read || o.kind == OpKind::write) && o.offset + o.length > p.max_size)
        throw std::invalid_argument("an operation past the end of a loop device");
      if (o.offset + o.length > 2 * p.max_size + 1024 * 1024) throw std::invalid_argument("an operation far beyond max_size");
    }
  if (!freeze_safe(p))
    throw std::invalid_argument("a program that freezes may not leave io_uring writes in flight (a user-space deadlock)");
  if (p.has(OpKind::freeze) && p.file_backed)
    throw std::invalid_argument("a program that freezes keeps no buffers in a file of that filesystem (a user-space deadlock)");
  p.private_file = j.value("private_file", -1);
  if (p.private_file >= static_cast<int>(p.files) || p.private_file < -1 || (p.private_file >= 0 && p.is_loop(static_cast<unsigned>(p.private_file))))
    throw std::invalid_argument("private_file: a file slot (not a loop device), or none");
  for (size_t a = 0; a < p.actors.size(); ++a)
    for (const auto& o : p.actors[a].ops) {
      const bool on_private = p.private_file >= 0 && o.file == static_cast<unsigned>(p.private_file) && uses_file(o);
      if (a > 0 && on_private) throw std::invalid_argument("only actor 0 uses the private file");
      if (o.kind == OpKind::fallocate && shifts(o.mode) && !(a == 0 && on_private))
        throw std::invalid_argument("COLLAPSE_RANGE and INSERT_RANGE only on actor 0's private file");
    }
  if (p.file_backed)
    for (const auto& a : p.actors)
      for (const auto& o : a.ops)
        if ((o.api == Api::uring && o.ring == Ring::fixed) || o.touch)
          throw std::invalid_argument("file-backed buffers take no registered-buffer ring and no fork that touches them");
}

std::map<std::string, unsigned> GeneratorConfig::default_weights() {
  return {{"read", 24}, {"write", 24},   {"truncate", 3}, {"fallocate", 5}, {"fsync", 3},
          {"fork", 4},  {"recreate", 3}, {"wait", 6},     {"freeze", 3},    {"uffd", 2},
          {"madvise", 2}, {"mprotect", 1}};
}
std::map<std::string, unsigned> GeneratorConfig::default_engines() {
  return {{"psync", 35}, {"pv2", 15}, {"libaio", 20}, {"uring", 30}, {"mmap", 10}};
}
std::map<std::string, unsigned> GeneratorConfig::default_rings() {
  return {{"plain", 30}, {"iopoll", 25}, {"sqpoll", 15}, {"async", 15}, {"fixed", 15}};
}

void GeneratorConfig::set_weight(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) throw std::invalid_argument("a weight is NAME=N: '" + assignment + "'");
  const std::string name = assignment.substr(0, eq);
  unsigned w = 0;
  try {
    size_t used = 0;
    w = static_cast<unsigned>(std::stoul(assignment.substr(eq + 1), &used));
    if (used != assignment.size() - eq - 1 || w > 1000) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw std::invalid_argument("a weight is a number 0..1000: '" + assignment + "'");
  }
  if (known(kOpNames, name)) weights[name] = w;
  else if (known(kApiNames, name)) engines[name] = w;
  else if (known(kRingNames, name)) rings[name] = w;
  else throw std::invalid_argument("no operation, engine or ring is called '" + name + "'");
}

namespace {
// The declared matrix: ext4 default, ext4 with inline data, xfs, btrfs.
constexpr FsVariant kFilesystems[] = {
    {"ext4", "ext4", "", 64},
    {"ext4-inline", "ext4", "-O inline_data", 64},
    {"xfs", "xfs", "", 320},
    {"btrfs", "btrfs", "", 256},
};
}  // namespace

std::span<const FsVariant> fs_variants() { return kFilesystems; }

const FsVariant* find_fs_variant(std::string_view name) {
  for (const auto& f : kFilesystems)
    if (name == f.name) return &f;
  return nullptr;
}

namespace {

// Keeps each non-zero weight with probability 1/2; `keep_one` names the keys
// of which at least one must stay (the first non-zero of them otherwise).
void thin(std::map<std::string, unsigned>& table, std::mt19937_64& rng, const std::vector<std::string>& keep_one) {
  auto before = table;
  for (auto& [k, w] : table)
    if (w && rng() % 2) w = 0;
  for (const auto& k : keep_one)
    if (table[k]) return;
  for (const auto& k : keep_one)
    if (before[k]) {
      table[k] = before[k];
      return;
    }
}

GeneratorConfig swarm_config(const GeneratorConfig& cfg, std::mt19937_64& rng) {
  GeneratorConfig c = cfg;
  thin(c.weights, rng, {"read", "write"});
  std::vector<std::string> engines, rings;
  for (const auto& [k, w] : cfg.engines) engines.push_back(k);
  for (const auto& [k, w] : cfg.rings) rings.push_back(k);
  thin(c.engines, rng, engines);
  thin(c.rings, rng, rings);
  // The size scale too: files of 4 KiB put every operation on the same few
  // blocks (and near end of file), files of the full size spread them.
  static constexpr uint64_t kScale[] = {16, 4, 1};
  c.max_size = std::max<uint64_t>(4096, (cfg.max_size / kScale[rng() % 3]) & ~uint64_t{4095});
  // And the file count: one file (fsx's way: every actor on the same inode) or all of them.
  if (rng() % 2) c.files = 1;
  return c;
}

// COLLAPSE_RANGE and INSERT_RANGE only where no I/O is in flight: on a
// file slot actor 0 has to itself (the other actors' operations on it go to
// file 0), drawn apart like the process actors; elsewhere they are punches.
void give_actor0_a_private_file(Program& p, const GeneratorConfig& cfg, uint64_t seed) {
  std::mt19937_64 frng(seed ^ 0x70726976u);
  if (p.files >= 2 && percent(frng, cfg.private_percent)) {
    unsigned f = p.files - 1;
    if (p.is_loop(f)) --f;
    if (f > 0) {
      p.private_file = static_cast<int>(f);
      for (size_t a = 1; a < p.actors.size(); ++a)
        for (auto& o : p.actors[a].ops)
          if (o.file == f && uses_file(o)) {
            o.file = 0;
            if (o.api == Api::mmap) o.api = Api::psync, o.datasync = false;  // drawn within the other file's size
          }
    }
  }
  for (size_t a = 0; a < p.actors.size(); ++a)
    for (auto& o : p.actors[a].ops)
      if (o.kind == OpKind::fallocate && shifts(o.mode)) {
        if (a == 0 && p.private_file >= 0) o.file = static_cast<unsigned>(p.private_file);
        else o.mode = Falloc::punch_hole;
      }
}

// mmap only on files whose size never shrinks (no truncate, no fresh inode
// over the slot, no shift of its bytes): a mapped page past the end of the
// file is SIGBUS, and a write into the tail page past it is not part of the file.
void keep_mmap_on_growing_files(Program& p) {
  std::array<bool, 16> shrinks{};
  for (const auto& a : p.actors)
    for (const auto& o : a.ops)
      if (o.kind == OpKind::truncate || o.kind == OpKind::recreate || (o.kind == OpKind::fallocate && shifts(o.mode)))
        shrinks[o.file] = true;
  for (auto& a : p.actors)
    for (auto& o : a.ops)
      if (o.api == Api::mmap && shrinks[o.file]) o.api = Api::psync, o.datasync = false;
}

// Which actors are processes, and the buffers' memory: drawn apart, so that
// a seed's operations are the same as before these existed.
void draw_processes_and_memory(Program& p, const GeneratorConfig& cfg, uint64_t seed) {
  std::mt19937_64 prng(seed ^ 0x70726f63u);
  for (auto& a : p.actors) a.process = percent(prng, cfg.process_percent);
  // File-backed buffers take no registered buffers and no touching forks.
  p.file_backed = percent(prng, cfg.file_percent);
  p.huge = !p.file_backed && percent(prng, cfg.huge_percent);
  if (p.file_backed)
    for (auto& a : p.actors)
      for (auto& o : a.ops) {
        if (o.api == Api::uring && o.ring == Ring::fixed) o.ring = Ring::plain;
        o.touch = false;
      }
}

// A freeze and a userfaultfd region in one program: seen once on 6.12.118
// (every fix) as a program that never finished and left the filesystem
// frozen, not analysed; the generator keeps them apart (the freeze becomes
// a wait) rather than risk a false finding. And a program that freezes
// leaves no io_uring write in flight (docs/explore-model.md, oracle 3: a
// user-space deadlock, not a kernel bug).
void keep_freezes_safe(Program& p) {
  bool region = false;
  for (const auto& a : p.actors)
    for (const auto& o : a.ops) region |= o.kind == OpKind::uffd;
  // And one actor freezes at most: on 6.12.118 a program in which two actors
  // froze (one FIFREEZE then got EBUSY) saw three writes of the second actor
  // complete inside the first one's freeze; not reproduced (0 of 30 replays
  // on 6.18), not analysed, so not generated rather than risk a false finding.
  int freezer = -1;
  for (size_t a = 0; a < p.actors.size(); ++a)
    for (auto& o : p.actors[a].ops)
      if (o.kind == OpKind::freeze) {
        if (freezer < 0 && !region) freezer = static_cast<int>(a);
        if (region || freezer != static_cast<int>(a)) o = Op{.kind = OpKind::wait, .spin = o.spin};
      }
  if (!freeze_safe(p))
    for (auto& a : p.actors)
      for (auto& o : a.ops)
        if (o.kind == OpKind::write && o.api == Api::uring) o.async = false;
  // A program that freezes maps no file: an mmap store faults in
  // ->page_mkwrite, which waits for the thaw holding mmap_lock, and a queued
  // mmap_lock writer (another actor's mmap, munmap, madvise, mprotect) then
  // holds up every later fault of the process, the freezing thread's own
  // included: it cannot thaw until its guardian's deadline does (seen on
  // 6.1 with xfs: a store that completed 10 s after FIFREEZE).
  if (freezer >= 0)
    for (auto& a : p.actors)
      for (auto& o : a.ops)
        if (o.api == Api::mmap) o.api = Api::psync, o.datasync = false;
  // Nor are its buffers a file of the filesystem it freezes: filling one is
  // the same store into a shared file mapping (the tenth session, 6.12.107:
  // such a program replayed as "did not finish within 10 s" in 4 of 150
  // runs, a fork being the queued mmap_lock writer).
  if (freezer >= 0) p.file_backed = false;
}

// An operation that opens a window (a frozen filesystem, a forked child, a
// userfaultfd region, a read-only slot, a request left in flight) is four
// times as likely a hint's target as one that does not: what happens inside
// such windows is what the oracles judge. And one on the waiter's file three
// times: two operations on one file race on its inode, its extents, its cache.

uint32_t pick_hint_target(const std::vector<Op>& ops, const Op& waiter, std::mt19937_64& rng) {
  auto weight = [&](const Op& o) -> uint64_t {
    const bool window = o.kind == OpKind::freeze || o.kind == OpKind::fork || o.kind == OpKind::uffd ||
                        o.kind == OpKind::mprotect || o.async;
    return (window ? 4 : 1) * (uses_file(o) && uses_file(waiter) && o.file == waiter.file ? 3 : 1);
  };
  uint64_t total = 0;
  for (const auto& o : ops) total += weight(o);
  uint64_t r = below(rng, total);
  for (uint32_t j = 0; j < ops.size(); ++j) {
    if (r < weight(ops[j])) return j;
    r -= weight(ops[j]);
  }
  return 0;
}

// Schedule hints: an operation of actor a waits for one of a lower actor's
// operations to begin. Without them each actor runs from the start line at
// its own pace, and an operation that takes long to take effect (FIFREEZE
// waits for three RCU grace periods: tens of milliseconds) begins after the
// others have ended: in 64 programs with a freeze on the host, no other
// actor's write started inside a freeze window. Drawn apart, so that a
// seed's operations stay what they were; with swarm, half the programs have none.
void draw_schedule_hints(Program& p, const GeneratorConfig& cfg, uint64_t seed) {
  std::mt19937_64 hrng(seed ^ 0x61667472u);
  if (cfg.swarm && hrng() % 2) return;
  for (size_t a = 1; a < p.actors.size(); ++a)
    for (auto& o : p.actors[a].ops) {
      if (!percent(hrng, cfg.after_percent)) continue;
      const auto b = static_cast<size_t>(below(hrng, a));
      if (p.actors[b].ops.empty()) continue;
      o.after_actor = static_cast<int>(b);
      o.after_op = pick_hint_target(p.actors[b].ops, o, hrng);
    }
}

// The moment a userfaultfd region's handler closes it: in a quarter of
// the regions at once, so that the release races the first faults of the
// actor's next reads (a GUP starting to pin its buffer), otherwise after
// 1..26 ms (hold_us, drawn with the operation), when whatever is in flight
// then races it. Drawn apart, so that the rest of a seed's program stays
// as it was. (Measured on 6.1 with the minimized release hang: closing at
// once hung 10 of 60 executions, after 20 ms 2 of 60.)
void draw_uffd_moments(Program& p, uint64_t seed) {
  std::mt19937_64 urng(seed ^ 0x75666664u);
  for (auto& a : p.actors)
    for (auto& o : a.ops)
      if (o.kind == OpKind::uffd && urng() % 4 == 0) o.hold_us = 0;
}

}  // namespace

Program generate_program(const GeneratorConfig& config, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const GeneratorConfig cfg = config.swarm ? swarm_config(config, rng) : config;
  Program p;
  p.seed = seed;
  p.files = cfg.files;
  p.max_size = cfg.max_size;
  for (unsigned f = 0; f < p.files; ++f) {
    static constexpr uint64_t kStart[] = {0, 4096, 12288};
    p.initial_sizes.push_back(std::min(cfg.max_size, percent(rng, 50) ? kStart[below(rng, std::size(kStart))]
                                                                       : below(rng, cfg.max_size / 512 + 1) * 512));
  }
  p.packed = percent(rng, cfg.packed_percent);
  if (p.files >= 2 && percent(rng, cfg.loop_percent)) {
    p.loops.push_back(p.files - 1);
    p.initial_sizes[p.files - 1] = p.max_size;  // the device's size
  }
  // Swarm over files too: an actor of a program of several files keeps to
  // one of them with probability 1/2 (drawn apart). Such an actor goes on
  // while the others' files block it would share: a loop device's actor
  // while its backing filesystem is frozen, a reader of one file while
  // another is truncated.
  std::mt19937_64 frng(seed ^ 0x666f6375u);
  for (unsigned a = 0; a < cfg.actors; ++a) {
    Actor actor;
    const int focus = cfg.swarm && p.files >= 2 && frng() % 2 ? static_cast<int>(below(frng, p.files)) : -1;
    bool region = false;  // the actor made a userfaultfd region: its synchronous reads may use it
    for (unsigned i = 0; i < cfg.ops_per_actor; ++i) {
      Op o = draw_op(cfg, p, rng, focus);
      region |= o.kind == OpKind::uffd;
      if (region && o.kind == OpKind::read && (o.api == Api::psync || o.api == Api::pv2)) o.uffd = percent(rng, 60);
      actor.ops.push_back(o);
    }
    p.actors.push_back(std::move(actor));
  }
  give_actor0_a_private_file(p, cfg, seed);
  keep_mmap_on_growing_files(p);
  draw_processes_and_memory(p, cfg, seed);
  keep_freezes_safe(p);
  draw_schedule_hints(p, cfg, seed);
  draw_uffd_moments(p, seed);
  return p;
}

}  // namespace diorace
