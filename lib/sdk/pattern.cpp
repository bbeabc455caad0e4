// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/pattern.hpp"
#include "diorace/buffer.hpp"

#include <stdexcept>

#include <chrono>

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace diorace {

namespace {

constexpr size_t kWords = (kSectorSize - sizeof(SectorHeader)) / 8;  // 59 payload words
constexpr uint64_t kWeyl = 0x9E3779B97F4A7C15ULL;

inline uint64_t header_checksum(const SectorHeader& h) noexcept {
  return XXH3_64bits(&h, offsetof(SectorHeader, checksum));
}

inline uint64_t payload_word(uint64_t base, size_t i) noexcept {
  uint64_t w = base + (i + 1) * kWeyl;
  return w ^ (w >> 31);
}

inline SectorHeader make_header(const PatternKey& key, uint64_t offset) noexcept {
  SectorHeader h{kSectorMagic, offset, key.seed, key.file_id, key.generation, 0};
  h.checksum = header_checksum(h);
  return h;
}

inline void write_sector(std::byte* dst, const SectorHeader& h) noexcept {
  std::memcpy(dst, &h, sizeof h);
  uint64_t words[kWords];
  for (size_t i = 0; i < kWords; ++i) words[i] = payload_word(h.checksum, i);
  std::memcpy(dst + sizeof h, words, sizeof words);
}

// XOR-accumulates the difference between a sector's payload and the words
// `checksum` generates; zero means equal. Running Weyl sum instead of a
// multiply per word, loads straight from the buffer: this loop is the
// verifier's whole cost on intact data, written for the vectoriser.
inline uint64_t payload_diff(const std::byte* src, uint64_t checksum) noexcept {
  uint64_t acc = 0;
  const std::byte* p = src + sizeof(SectorHeader);
  uint64_t w = checksum;
  for (size_t i = 0; i < kWords; ++i) {
    w += kWeyl;
    uint64_t got;
    std::memcpy(&got, p + i * 8, 8);
    acc |= got ^ (w ^ (w >> 31));
  }
  return acc;
}

// The difference between the sector and its expected content; zero: intact.
inline uint64_t sector_diff(const std::byte* src, const SectorHeader& h) noexcept {
  uint64_t hdr[5];
  std::memcpy(hdr, src, sizeof hdr);
  uint64_t acc = (hdr[0] ^ h.magic) | (hdr[1] ^ h.offset) | (hdr[2] ^ h.seed) |
                 (hdr[3] ^ (uint64_t(h.generation) << 32 | h.file_id)) | (hdr[4] ^ h.checksum);
  return acc | payload_diff(src, h.checksum);
}

// The fast path's check: the header fields against what they must be, and
// the payload against what the sector's *own* stored checksum generates. No
// hash per sector: a wrong checksum field changes every payload word it
// generates, so it cannot go unnoticed, and any other field or payload
// change differs directly. Exactly the sectors sector_diff() passes pass here.
inline uint64_t sector_diff_fast(const std::byte* src, uint64_t magic, uint64_t offset, uint64_t seed,
                                 uint64_t ids) noexcept {
  uint64_t hdr[5];
  std::memcpy(hdr, src, sizeof hdr);
  return (hdr[0] ^ magic) | (hdr[1] ^ offset) | (hdr[2] ^ seed) | (hdr[3] ^ ids) | payload_diff(src, hdr[4]);
}

std::string hex_line(const std::vector<uint8_t>& bytes, size_t from, size_t n) {
  std::string s;
  for (size_t i = from; i < from + n && i < bytes.size(); ++i) s += fmt::format("{:02x} ", bytes[i]);
  if (!s.empty()) s.pop_back();
  return s;
}

}  // namespace

void fill_pattern(std::span<std::byte> buf, const PatternKey& key, uint64_t file_offset) noexcept {
  for (size_t pos = 0; pos + kSectorSize <= buf.size(); pos += kSectorSize)
    write_sector(buf.data() + pos, make_header(key, file_offset + pos));
}

bool decode_sector(const std::byte* sector, SectorHeader& out) noexcept {
  std::memcpy(&out, sector, sizeof out);
  if (out.magic != kSectorMagic || header_checksum(out) != out.checksum) return false;
  return sector_diff(sector, out) == 0;
}

std::string_view to_string(CorruptionClass c) noexcept {
  switch (c) {
    case CorruptionClass::fill_byte: return "fill_byte";
    case CorruptionClass::stale_generation: return "stale_generation";
    case CorruptionClass::misdirected: return "misdirected";
    case CorruptionClass::garbage: return "garbage";
  }
  return "garbage";
}

// Cloned for AVX2 with run-time dispatch: the static binary still runs on any
// x86-64 (the VM's TCG CPU included).
__attribute__((target_clones("avx2", "default")))
bool Verifier::intact(std::span<const std::byte> buf, uint64_t file_offset) const noexcept {
  uint64_t acc = 0;
  const uint64_t ids = uint64_t(key_.generation) << 32 | key_.file_id;
  for (size_t pos = 0; pos + kSectorSize <= buf.size(); pos += kSectorSize)
    acc |= sector_diff_fast(buf.data() + pos, kSectorMagic, file_offset + pos, key_.seed, ids);
  return acc == 0;
}

namespace {

// What is wrong with one sector: its first and last bad byte, and which
// class of corruption the bytes show.
struct SectorFinding {
  size_t first = 0, last = 0;
  CorruptionClass cls = CorruptionClass::garbage;
  std::string detail;
};

SectorFinding classify_sector(const std::byte* got, const std::byte* expected, const PatternKey& key, uint64_t off,
                              std::byte fill) {
  SectorFinding f;
  bool all_fill = true, any = false;
  for (size_t i = 0; i < kSectorSize; ++i) {
    if (got[i] == expected[i]) continue;
    if (!any) f.first = i;
    any = true;
    f.last = i;
    if (got[i] != fill) all_fill = false;
  }
  SectorHeader seen{};
  if (all_fill) {
    f.cls = CorruptionClass::fill_byte;
    f.detail = fmt::format("bytes still hold the fill value 0x{:02x}: the read's data never arrived",
                           static_cast<unsigned>(fill));
  } else if (decode_sector(got, seen)) {
    f.cls = seen.file_id == key.file_id && seen.offset == off && seen.seed == key.seed
                ? CorruptionClass::stale_generation
                : CorruptionClass::misdirected;
    f.detail = fmt::format("sector header says file {} offset 0x{:x} generation {} seed 0x{:x}", seen.file_id,
                           seen.offset, seen.generation, seen.seed);
  } else {
    f.detail = "bytes match neither the expected sector, the fill value, nor any valid sector";
  }
  return f;
}

// The bytes around the first bad one (buffer position at), expected and
// received: from 8 bytes before it, bounded by the buffer.
void dump_around(Corruption& c, std::span<const std::byte> buf, uint64_t file_offset, size_t at, const PatternKey& key,
                 size_t dump_bytes) {
  size_t dump_from = at >= 8 ? at - 8 : 0;
  dump_from &= ~size_t(7);
  const size_t dump_to = std::min(buf.size(), dump_from + dump_bytes);
  c.dump_offset = file_offset + dump_from;
  // Expected bytes may span the previous sector; regenerate them directly.
  std::vector<std::byte> exp(dump_to - dump_from);
  std::byte tmp[kSectorSize];
  for (size_t s = dump_from / kSectorSize * kSectorSize; s < dump_to; s += kSectorSize) {
    write_sector(tmp, make_header(key, file_offset + s));
    for (size_t i = std::max(s, dump_from); i < std::min(s + kSectorSize, dump_to); ++i) exp[i - dump_from] = tmp[i - s];
  }
  for (size_t i = dump_from; i < dump_to; ++i) {
    c.expected.push_back(static_cast<uint8_t>(exp[i - dump_from]));
    c.received.push_back(static_cast<uint8_t>(buf[i]));
  }
}

}  // namespace

std::vector<Corruption> Verifier::verify(std::span<const std::byte> buf, uint64_t file_offset) const {
  std::vector<Corruption> out;
  if (intact(buf, file_offset)) return out;  // the vectorised fast path
  std::byte expected[kSectorSize];
  Corruption* open = nullptr;       // extent being extended
  uint64_t open_end = 0;            // file offset one past its last bad byte
  for (size_t pos = 0; pos + kSectorSize <= buf.size(); pos += kSectorSize) {
    const uint64_t off = file_offset + pos;
    const SectorHeader h = make_header(key_, off);
    const std::byte* got = buf.data() + pos;
    if (sector_diff(got, h) == 0) {
      open = nullptr;
      continue;
    }
    write_sector(expected, h);
    SectorFinding f = classify_sector(got, expected, key_, off, opts_.fill);
    if (open && open->cls == f.cls && open_end == off + f.first) {
      open->length = off + f.last + 1 - open->offset;
      open_end = off + f.last + 1;
      if (f.last + 1 < kSectorSize) open = nullptr;
      continue;
    }
    if (out.size() >= opts_.max_reports) {
      if (!out.empty()) out.back().detail += " (further extents not listed)";
      break;
    }
    Corruption c;
    c.file = file_;
    c.offset = off + f.first;
    c.length = f.last - f.first + 1;
    c.cls = f.cls;
    c.detail = std::move(f.detail);
    dump_around(c, buf, file_offset, pos + f.first, key_, opts_.dump_bytes);
    out.push_back(std::move(c));
    open = &out.back();
    open_end = off + f.last + 1;
    if (f.last + 1 < kSectorSize) open = nullptr;
  }
  return out;
}

std::string Corruption::describe() const {
  std::string s = fmt::format("corruption [{}] in {} at offset 0x{:x} (+{} bytes): {}", to_string(cls), file, offset,
                              length, detail);
  if (!context.empty()) s += fmt::format("\n  while: {}", context);
  for (size_t row = 0; row < expected.size(); row += 16) {
    s += fmt::format("\n  0x{:08x} expected: {}", dump_offset + row, hex_line(expected, row, 16));
    s += fmt::format("\n  0x{:08x} received: {}", dump_offset + row, hex_line(received, row, 16));
  }
  return s;
}

VerifierSpeed measure_verifier_speed(size_t bytes, int repeats) {
  const PatternKey key{7, 3, 0x5eed};
  auto a = AlignedBuffer::create(bytes, 4096);
  auto ref = AlignedBuffer::create(bytes, 4096);
  fill_pattern(a.span(), key, 0);
  fill_pattern(ref.span(), key, 0);
  Verifier v(key, "bench");
  auto best = [&](auto&& fn) {
    double t = 1e9;
    for (int r = 0; r < repeats; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      fn();
      t = std::min(t, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return t;
  };
  // Small buffers: repeat inside one timing so the clock's resolution does not decide.
  const int inner = static_cast<int>(std::max<size_t>(1, (64u << 20) / bytes));
  volatile bool ok = true;
  double tv = best([&] {
    for (int i = 0; i < inner; ++i) ok = ok & v.intact(a.span(), 0);
  });
  volatile int cmp = 0;
  double tm = best([&] {
    for (int i = 0; i < inner; ++i) cmp = cmp + std::memcmp(a.data(), ref.data(), bytes);
  });
  if (!ok || cmp != 0) throw std::logic_error("measure_verifier_speed: the buffer did not verify");
  const double total = static_cast<double>(bytes) * inner;
  return {bytes, total / tv / 1e9, total / tm / 1e9};
}

std::vector<Corruption> verify_zeros(std::span<const std::byte> buf, uint64_t file_offset, const std::string& file,
                                     std::byte fill, size_t dump_bytes) {
  size_t first = buf.size(), last = 0;
  bool all_fill = true;
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] == std::byte{0}) continue;
    if (first == buf.size()) first = i;
    last = i;
    all_fill = all_fill && buf[i] == fill;
  }
  if (first == buf.size()) return {};
  Corruption c;
  c.file = file;
  c.offset = file_offset + first;
  c.length = last - first + 1;
  c.cls = all_fill && fill != std::byte{0} ? CorruptionClass::fill_byte : CorruptionClass::garbage;
  c.detail = "expected zeros (a hole or an unwritten extent)";
  c.dump_offset = c.offset;
  const size_t n = std::min(dump_bytes, buf.size() - first);
  c.expected.assign(n, 0);
  for (size_t i = 0; i < n; ++i) c.received.push_back(static_cast<uint8_t>(buf[first + i]));
  return {c};
}

}  // namespace diorace
