// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "diorace/error.hpp"

namespace diorace {

namespace {
size_t page_size() {
  static const size_t ps = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return ps;
}
size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }
}  // namespace

AlignedBuffer AlignedBuffer::create(size_t size, size_t alignment, size_t misalign) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    throw std::invalid_argument("buffer alignment must be a power of two");
  if (size == 0) throw std::invalid_argument("buffer size must not be zero");
  const size_t ps = page_size();
  const size_t align = alignment < ps ? ps : alignment;
  // Over-map by the alignment so an aligned base exists, then trim the slack.
  const size_t need = round_up(size + misalign, ps);
  const size_t map_len = need + (align > ps ? align : 0);
  void* p = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw_errno("mmap " + std::to_string(map_len) + " bytes");
  auto start = reinterpret_cast<uintptr_t>(p);
  uintptr_t aligned = (start + align - 1) & ~(uintptr_t(align) - 1);
  if (aligned > start) ::munmap(p, aligned - start);
  uintptr_t end = start + map_len;
  if (end > aligned + need) ::munmap(reinterpret_cast<void*>(aligned + need), end - (aligned + need));

  AlignedBuffer b;
  b.map_ = reinterpret_cast<std::byte*>(aligned);
  b.map_len_ = need;
  b.base_ = b.map_;
  b.size_ = size;
  b.alignment_ = alignment;
  b.misalign_ = misalign;
  return b;
}

AlignedBuffer::~AlignedBuffer() {
  if (map_) ::munmap(map_, map_len_);
}

void AlignedBuffer::fill(std::byte value) noexcept {
  std::memset(data(), static_cast<int>(value), size_);
}

}  // namespace diorace
