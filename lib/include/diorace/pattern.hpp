// SPDX-License-Identifier: GPL-2.0-or-later
// Self-describing 512-byte sectors, in the spirit of fio's verify headers.
//
// Every sector starts with a 40-byte header
//   magic | file offset | seed | file id | generation | xxh64(header)
// followed by 472 bytes of payload derived from the header hash. A sector
// therefore says which file, offset and generation it belongs to, and a
// mismatch can be explained:
//   fill_byte        - the bytes still hold the buffer's fill value: the data
//                      never arrived (DMA into a page the process no longer maps)
//   stale_generation - a valid sector of this file and offset, older generation
//   misdirected      - a valid sector, but of another file or offset
//   garbage          - anything else
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace diorace {

inline constexpr size_t kSectorSize = 512;
inline constexpr uint64_t kSectorMagic = 0x31454341524f4944ULL;  // "DIORACE1"

struct PatternKey {
  uint32_t file_id = 0;
  uint32_t generation = 1;
  uint64_t seed = 0;
  bool operator==(const PatternKey&) const = default;
};

struct SectorHeader {
  uint64_t magic;
  uint64_t offset;
  uint64_t seed;
  uint32_t file_id;
  uint32_t generation;
  uint64_t checksum;
};
static_assert(sizeof(SectorHeader) == 40);

// Fills buf (a multiple of 512 bytes) with the sectors that belong at
// file_offset (a multiple of 512) of the file described by key.
void fill_pattern(std::span<std::byte> buf, const PatternKey& key, uint64_t file_offset) noexcept;

// Decodes a sector's header; nullopt-like: returns false when the magic or the
// header checksum is wrong, or the payload does not match the header.
bool decode_sector(const std::byte* sector, SectorHeader& out) noexcept;

enum class CorruptionClass { fill_byte, stale_generation, misdirected, garbage };
std::string_view to_string(CorruptionClass c) noexcept;

struct Corruption {
  std::string file;          // name of the file the data came from
  uint64_t offset = 0;       // file offset of the first bad byte
  uint64_t length = 0;       // bytes from the first to the last bad byte of this extent
  CorruptionClass cls = CorruptionClass::garbage;
  std::string detail;        // e.g. "header says file 3 offset 0x2000 generation 1"
  uint64_t dump_offset = 0;  // file offset of the first dumped byte
  std::vector<uint8_t> expected;
  std::vector<uint8_t> received;
  std::string context;       // what the case was doing (worker, iteration)

  [[nodiscard]] std::string describe() const;  // multi-line report with hex dump
};
void to_json(nlohmann::json& j, const Corruption& c);
void from_json(const nlohmann::json& j, Corruption& c);  // codec: src/codec.cpp

struct VerifyOptions {
  std::byte fill{0};            // the value the buffer held before the read
  size_t dump_bytes = 32;       // bound on the hex dump per extent
  size_t max_reports = 8;       // bound on extents reported per call
};

class Verifier {
 public:
  Verifier(PatternKey key, std::string file_name, VerifyOptions opts = {})
      : key_(key), file_(std::move(file_name)), opts_(opts) {}

  // Verifies buf, read from file_offset (both multiples of 512). Returns the
  // corrupted extents, merged per class; empty when the data is intact.
  [[nodiscard]] std::vector<Corruption> verify(std::span<const std::byte> buf, uint64_t file_offset) const;
  // Fast yes/no check; the same work as verify() when the data is intact.
  [[nodiscard]] bool intact(std::span<const std::byte> buf, uint64_t file_offset) const noexcept;

  [[nodiscard]] const PatternKey& key() const noexcept { return key_; }

 private:
  PatternKey key_;
  std::string file_;
  VerifyOptions opts_;
};

// Checks that buf, read from file_offset of `file`, holds zeros, as a hole or
// an unwritten extent reads back. A mismatch is one extent (first to last bad
// byte): fill_byte when every bad byte still holds the buffer's fill value
// (the data never arrived), else garbage.
[[nodiscard]] std::vector<Corruption> verify_zeros(std::span<const std::byte> buf, uint64_t file_offset,
                                                   const std::string& file, std::byte fill, size_t dump_bytes = 32);

// The verifier's speed on an intact patterned buffer of `bytes`, and
// memcmp's on the same buffer against a reference copy (best of `repeats`).
struct VerifierSpeed {
  size_t bytes = 0;
  double verifier_gbps = 0, memcmp_gbps = 0;
};
VerifierSpeed measure_verifier_speed(size_t bytes, int repeats = 7);

}  // namespace diorace
