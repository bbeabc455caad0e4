// SPDX-License-Identifier: GPL-2.0-or-later
// Page-backed, move-only I/O buffers with any power-of-two alignment and an
// optional deliberate misalignment: data() = aligned base + misalign. With a
// misalignment of 512 the O_DIRECT reads of neighbouring workers share pages,
// which is what the fork-vs-O_DIRECT race needs (dma_thread -a 512).
#pragma once
#include <cstddef>
#include <span>
#include <utility>

namespace diorace {

class AlignedBuffer {
 public:
  AlignedBuffer() noexcept = default;
  // size: usable bytes from data(); alignment: power of two (>= 1) for the
  // base; misalign: bytes added after the aligned base. Throws on bad
  // arguments (std::invalid_argument) or mmap failure (std::system_error).
  [[nodiscard]] static AlignedBuffer create(size_t size, size_t alignment = 4096, size_t misalign = 0);

  AlignedBuffer(AlignedBuffer&& o) noexcept { swap(o); }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    AlignedBuffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();

  [[nodiscard]] std::byte* data() const noexcept { return base_ + misalign_; }
  [[nodiscard]] std::byte* base() const noexcept { return base_; }
  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] size_t alignment() const noexcept { return alignment_; }
  [[nodiscard]] size_t misalign() const noexcept { return misalign_; }
  [[nodiscard]] std::span<std::byte> span() const noexcept { return {data(), size_}; }
  // The whole mapped region backing the buffer (page granular).
  [[nodiscard]] std::span<std::byte> mapping() const noexcept { return {map_, map_len_}; }
  void fill(std::byte value) noexcept;

 private:
  void swap(AlignedBuffer& o) noexcept {
    std::swap(map_, o.map_);
    std::swap(map_len_, o.map_len_);
    std::swap(base_, o.base_);
    std::swap(size_, o.size_);
    std::swap(alignment_, o.alignment_);
    std::swap(misalign_, o.misalign_);
  }
  std::byte* map_ = nullptr;
  size_t map_len_ = 0;
  std::byte* base_ = nullptr;
  size_t size_ = 0;
  size_t alignment_ = 0;
  size_t misalign_ = 0;
};

}  // namespace diorace
