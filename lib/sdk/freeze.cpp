// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/freeze.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <system_error>

#include "diorace/error.hpp"

namespace diorace {

namespace {

// Closes every descriptor but keep (async-signal-safe: raw close_range).
void close_all_but(std::initializer_list<int> keep) {
  int sorted[3] = {-1, -1, -1};
  size_t n = 0;
  for (int fd : keep) sorted[n++] = fd;
  std::sort(sorted, sorted + n);
  unsigned from = 0;
  for (size_t i = 0; i < n; ++i) {
    if (sorted[i] < 0) continue;
    if (static_cast<unsigned>(sorted[i]) > from) (void)::syscall(SYS_close_range, from, sorted[i] - 1u, 0u);
    from = static_cast<unsigned>(sorted[i]) + 1;
  }
  (void)::syscall(SYS_close_range, from, ~0u, 0u);
}

}  // namespace

FreezeGuardian FreezeGuardian::freeze(const std::string& dir, int max_ms) {
  auto cmd = Pipe::make();
  auto ack = Pipe::make();
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) throw_errno("open " + dir);
  const int d = dfd.get(), cmd_in = cmd.read.get(), ack_out = ack.write.get();
  const int cmd_out = cmd.write.get(), ack_in = ack.read.get();
  // Its own process group and no death signal: a kill of the case (its
  // group) does not stop the thaw. Only async-signal-safe calls in it.
  FreezeGuardian g;
  g.child_ = spawn({.body = [=]() -> int {
                      // The case's ends: closed here, so that the case
                      // closing its own means EOF.
                      ::close(cmd_out);
                      ::close(ack_in);
                      // Only its three descriptors: a copy of anything else
                      // (a userfaultfd, another guardian's pipe) would put
                      // off that one's release or thaw.
                      close_all_but({d, cmd_in, ack_out});
                      char c = ::ioctl(d, FIFREEZE, 0) == 0 ? 'F' : 'E';
                      int err = errno;
                      (void)!::write(ack_out, &c, 1);
                      if (c == 'E') {
                        (void)!::write(ack_out, &err, sizeof err);
                        return 1;
                      }
                      pollfd p{cmd_in, POLLIN, 0};
                      (void)::poll(&p, 1, max_ms);  // a word, EOF (the case died) or the deadline
                      // When it thaws, before FITHAW (clock_gettime is async-signal-safe).
                      timespec ts{};
                      (void)::clock_gettime(CLOCK_MONOTONIC, &ts);
                      const int64_t at = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
                      char reply[1 + sizeof at];
                      reply[0] = ::ioctl(d, FITHAW, 0) == 0 ? 'T' : 'E';
                      std::memcpy(reply + 1, &at, sizeof at);
                      (void)!::write(ack_out, reply, sizeof reply);  // one write: at most PIPE_BUF, whole
                      return 0;
                    },
                    .new_group = true,
                    .die_with_parent = false});
  g.cmd_ = std::move(cmd.write);
  g.ack_ = std::move(ack.read);
  cmd.read = UniqueFd();
  ack.write = UniqueFd();  // the guardian's copy is the only one left: EOF if it dies
  char c = 0;
  if (::read(g.ack_.get(), &c, 1) != 1 || c != 'F') {
    int err = 0;
    if (c == 'E') (void)!::read(g.ack_.get(), &err, sizeof err);
    (void)g.child_.wait();
    if (err == EOPNOTSUPP || err == EINVAL) throw SkipError("FIFREEZE is not supported on " + dir);
    throw std::system_error(err ? err : EIO, std::generic_category(), "FIFREEZE " + dir);
  }
  return g;
}

bool FreezeGuardian::thaw() noexcept {
  if (child_.pid() < 0) return true;
  cmd_ = UniqueFd();  // EOF: thaw now
  char reply[1 + sizeof(int64_t)] = {};
  const ssize_t n = ::read(ack_.get(), reply, sizeof reply);
  const bool ok = n >= 1 && reply[0] == 'T';
  if (n == static_cast<ssize_t>(sizeof reply)) std::memcpy(&thawed_at_ns_, reply + 1, sizeof thawed_at_ns_);
  (void)child_.wait();
  return ok;
}

}  // namespace diorace
