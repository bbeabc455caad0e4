// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "diorace/buffer.hpp"
#include "diorace/forkstorm.hpp"

using namespace diorace;

TEST(ForkStorm, ForksAndReapsEveryChild) {
  auto buf = AlignedBuffer::create(1 << 20);
  buf.fill(std::byte{1});
  for (auto action : {ChildAction::exit_now, ChildAction::touch_pages}) {
    ForkStorm storm({.threads = 2, .action = action, .touch = buf.span()});
    storm.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    storm.stop();
    EXPECT_GT(storm.forks(), 10u);
    EXPECT_GT(storm.rate_per_second(), 0.0);
    // No child is left: neither running nor a zombie.
    errno = 0;
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }
}

TEST(ForkStorm, StopIsIdempotentAndDestructorStops) {
  {
    ForkStorm storm({});
    storm.start();
    storm.stop();
    storm.stop();
  }
  {
    ForkStorm storm({});
    storm.start();
  }
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
}

TEST(ForkStorm, SingleFork) {
  pid_t pid = fork_child(ChildAction::exit_now);
  ASSERT_GT(pid, 0);
  int st = reap_child(pid);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}
