#include "worker/net/netns.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "kernel_fixture.h"

namespace oak::worker::testing {
namespace {

ino_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// The inode of the calling thread's network namespace.
ino_t currentNetns() {
  return inodeOf("/proc/thread-self/ns/net");
}

using NetnsTest = KernelTest;

TEST_F(NetnsTest, CreatesAMountedNamespaceWithParentDirectories) {
  const std::string path = netnsPath("deep/er/ns1");
  ASSERT_TRUE(createNetns(path));
  EXPECT_TRUE(isNetns(path));
  EXPECT_NE(inodeOf(path), 0u);
  EXPECT_NE(inodeOf(path), currentNetns());
}

TEST_F(NetnsTest, CreateIsIdempotent) {
  const std::string path = makeNetns("ns1");
  const ino_t first = inodeOf(path);
  ASSERT_TRUE(createNetns(path));
  EXPECT_EQ(inodeOf(path), first);
}

TEST_F(NetnsTest, CreateMountsOverAnEmptyLeftoverFile) {
  const std::string path = makeNetns("ns1");
  ASSERT_TRUE(removeNetns(path));
  std::ofstream(path).close();  // a crash between creating the file and mounting leaves this
  ASSERT_TRUE(createNetns(path));
  EXPECT_TRUE(isNetns(path));
}

TEST_F(NetnsTest, CreateRefusesAFileWithContent) {
  const std::string path = makeNetns("ns1");
  const std::string other = netnsPath("notes");
  std::ofstream(other) << "not a namespace";
  Status created = createNetns(other);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kConflict);
  EXPECT_NE(created.error().message.find(other), std::string::npos) << created.error().message;
}

TEST_F(NetnsTest, RemoveUnmountsAndIsIdempotent) {
  const std::string path = makeNetns("ns1");
  ASSERT_TRUE(removeNetns(path));
  EXPECT_FALSE(isNetns(path));
  EXPECT_EQ(inodeOf(path), 0u);
  EXPECT_TRUE(removeNetns(path));
  EXPECT_TRUE(removeNetns(netnsPath("never-made")));
}

TEST_F(NetnsTest, RunInNetnsRunsInsideWithoutMovingTheCaller) {
  const std::string path = makeNetns("ns1");
  const ino_t before = currentNetns();
  Result<ino_t> inside = runInNetns(path, [] { return Result<ino_t>(currentNetns()); });
  ASSERT_TRUE(inside) << inside.error().message;
  EXPECT_EQ(*inside, inodeOf(path));
  EXPECT_EQ(currentNetns(), before);

  Status status = runInNetns(path, [] { return Status(makeError(ErrorCode::kConflict, "x")); });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "x");  // fn's own result passes through
}

TEST_F(NetnsTest, RunInAMissingNamespaceNamesIt) {
  const std::string path = netnsPath("missing");
  bool ran = false;
  Status status = runInNetns(path, [&] {
    ran = true;
    return Status();
  });
  ASSERT_FALSE(status);
  EXPECT_FALSE(ran);
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(status.error().message,
            "open network namespace " + path + ": No such file or directory");
}

TEST(NetnsPathTest, InstanceNamespacesLiveUnderRunOakestra) {
  EXPECT_EQ(instanceNetnsPath("w1", "app.instance.0"), "/run/oakestra/w1/netns/app.instance.0");
}

}  // namespace
}  // namespace oak::worker::testing
