// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/forkrace.hpp"

#include <cstring>

#include "diorace/process.hpp"
#include <system_error>
#include <thread>
#include <tuple>

#include <fmt/format.h>

namespace diorace {

namespace {
constexpr size_t kPage = 4096;
}

std::vector<Corruption> fork_race_round(Engine& async, Engine& sync, const ForkRaceRound& r) {
  std::memset(r.buffer, static_cast<int>(r.fill), kForkRaceBufferSize);
  std::byte* first = r.buffer + 512;
  std::byte* second = r.buffer + 512 + kPage;
  IoRequest r1{r.fd, first, kPage, r.offset, false, 1};
  async.submit({&r1, 1});
  if (r.settle.count() > 0) std::this_thread::sleep_for(r.settle);
  const pid_t pid = fork_child(r.child, {r.buffer, kForkRaceBufferSize});
  auto drain = [&] {
    IoCompletion c;
    while (async.reap(1, {&c, 1}) == 0) {
    }
    return c.res;
  };
  if (pid < 0) {
    drain();
    throw std::system_error(-pid, std::generic_category(), "fork");
  }
  ChildProcess child(pid);  // reaped on every path, a throwing read included
  IoRequest r2{r.fd, second, kPage, r.offset + kPage, false, 2};
  int64_t res2 = sync.run_one(r2);
  int64_t res1 = drain();
  (void)child.wait();
  if (res1 != int64_t(kPage) || res2 != int64_t(kPage))
    throw std::system_error(EIO, std::generic_category(),
                            fmt::format("short O_DIRECT read: async {} sync {} of {}", res1, res2, kPage));
  Verifier v(r.key, r.file, {.fill = r.fill});
  std::vector<Corruption> found;
  for (auto [ptr, foff, what] : {std::tuple{first, r.offset, "async read in flight across fork()"},
                                 std::tuple{second, r.offset + kPage, "overlapping synchronous read after fork()"}}) {
    for (auto& c : v.verify({ptr, kPage}, foff)) {
      c.context = fmt::format("{}: {} ({} bytes into buffer+0x{:x})", r.context, what, kPage, ptr - r.buffer);
      found.push_back(std::move(c));
    }
  }
  return found;
}

}  // namespace diorace
