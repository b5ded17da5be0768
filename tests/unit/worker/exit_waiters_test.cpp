#include "worker/runtime/exit_waiters.h"

#include <gtest/gtest.h>

#include <vector>

namespace oak::worker {
namespace {

TEST(ExitWaitersTest, WaitersOfARunningTaskHearItsEndOnce) {
  ExitWaiters w;
  std::vector<int> codes;
  w.wait("t", true, [&](ExitInfo e) { codes.push_back(e.exit_code); });
  w.add("t", [&](ExitInfo e) { codes.push_back(e.exit_code + 100); });
  w.ended("t", ExitInfo{3, ""});
  EXPECT_EQ(codes, (std::vector<int>{3, 103}));
  // The exit went to its waiters; nothing is kept for a later wait.
  w.wait("t", false, [&](ExitInfo e) { EXPECT_EQ(e.reason, "unknown instance"); });
}

TEST(ExitWaitersTest, AnExitNobodyWaitedForIsKeptForTheFirstWaitOnly) {
  ExitWaiters w;
  w.ended("t", ExitInfo{0, ""});
  int calls = 0;
  w.wait("t", false, [&](ExitInfo e) {
    ++calls;
    EXPECT_EQ(e.exit_code, 0);
    EXPECT_EQ(e.reason, "");
  });
  EXPECT_EQ(calls, 1);
  w.wait("t", false, [&](ExitInfo e) { EXPECT_EQ(e.exit_code, -1); });
}

TEST(ExitWaitersTest, ANewLifeForgetsTheStaleExit) {
  ExitWaiters w;
  w.ended("t", ExitInfo{1, ""});
  w.forget("t");
  bool called = false;
  w.wait("t", true, [&](ExitInfo) { called = true; });
  EXPECT_FALSE(called);  // waits for the new life
  w.ended("t", ExitInfo{2, ""});
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace oak::worker
