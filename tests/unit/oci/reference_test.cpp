#include <gtest/gtest.h>

#include "oci/reference.h"

namespace oak::oci {
namespace {

const std::string kDigest =
    "sha256:7b3ccabffc97de872a30dfd234fd972a66d247c8cfc69b0550f276481852627c";

struct Parsed {
  std::string text;
  std::string registry, repository, tag, digest, canonical;
};

void PrintTo(const Parsed& p, std::ostream* os) {
  *os << '"' << p.text.substr(0, 40) << '"';
}

class ReferenceParseTest : public ::testing::TestWithParam<Parsed> {};

TEST_P(ReferenceParseTest, Normalises) {
  const auto& want = GetParam();
  auto ref = Reference::parse(want.text);
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->registry, want.registry);
  EXPECT_EQ(ref->repository, want.repository);
  EXPECT_EQ(ref->tag, want.tag);
  EXPECT_EQ(ref->digest, want.digest);
  EXPECT_EQ(ref->str(), want.canonical);
  // The canonical form parses to the same reference.
  auto again = Reference::parse(ref->str());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *ref);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReferenceParseTest,
    ::testing::Values(
        Parsed{"busybox", "docker.io", "library/busybox", "latest", "",
               "docker.io/library/busybox:latest"},
        Parsed{"busybox:1.36", "docker.io", "library/busybox", "1.36", "",
               "docker.io/library/busybox:1.36"},
        Parsed{"oakestra/worker", "docker.io", "oakestra/worker", "latest", "",
               "docker.io/oakestra/worker:latest"},
        Parsed{"docker.io/nginx", "docker.io", "library/nginx", "latest", "",
               "docker.io/library/nginx:latest"},
        Parsed{"index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1", "",
               "docker.io/library/nginx:1"},
        Parsed{"ghcr.io/org/team/app:v1.2-rc_1", "ghcr.io", "org/team/app", "v1.2-rc_1", "",
               "ghcr.io/org/team/app:v1.2-rc_1"},
        Parsed{"127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", "",
               "127.0.0.1:5000/app:latest"},
        Parsed{"localhost:5000/a/b:t", "localhost:5000", "a/b", "t", "", "localhost:5000/a/b:t"},
        Parsed{"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest"},
        Parsed{"[::1]:5000/app:x", "[::1]:5000", "app", "x", "", "[::1]:5000/app:x"},
        Parsed{"registry.example.com/my-app__x.y", "registry.example.com", "my-app__x.y", "latest",
               "", "registry.example.com/my-app__x.y:latest"},
        Parsed{"busybox@" + kDigest, "docker.io", "library/busybox", "", kDigest,
               "docker.io/library/busybox@" + kDigest},
        Parsed{"127.0.0.1:5000/app:1@" + kDigest, "127.0.0.1:5000", "app", "1", kDigest,
               "127.0.0.1:5000/app:1@" + kDigest}));

struct Bad {
  std::string text;
  std::string says;  // part of the message
};

// Test names show the input, not the struct's bytes.
void PrintTo(const Bad& b, std::ostream* os) {
  *os << '"' << b.text.substr(0, 40) << '"';
}

class ReferenceRejectTest : public ::testing::TestWithParam<Bad> {};

TEST_P(ReferenceRejectTest, NamesTheProblem) {
  auto ref = Reference::parse(GetParam().text);
  ASSERT_FALSE(ref) << GetParam().text << " parsed as " << ref->str();
  EXPECT_EQ(ref.error().code, ErrorCode::kUnprocessable);
  EXPECT_NE(ref.error().message.find(GetParam().says), std::string::npos) << ref.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ReferenceRejectTest,
    ::testing::Values(Bad{"", "is empty"}, Bad{"Busybox", "must be lowercase"},
                      Bad{"ghcr.io/Org/app", "must be lowercase"},
                      Bad{"https://ghcr.io/app", "URL scheme"},
                      Bad{"busybox:", "tag '' is invalid"},
                      Bad{"busybox:-x", "tag '-x' is invalid"},
                      Bad{"busybox:" + std::string(129, 'a'), "is invalid"},
                      Bad{"bad host:5000/app", "whitespace"},
                      Bad{"127.0.0.1:99999/app", "registry '127.0.0.1:99999' is invalid"},
                      Bad{"127.0.0.1:/app", "registry '127.0.0.1:' is invalid"},
                      Bad{"ghcr.io/", "has no repository"}, Bad{"ghcr.io//app", "component ''"},
                      Bad{"app-", "component 'app-'"}, Bad{"a..b", "component 'a..b'"},
                      Bad{"app@sha256:abc", "64 lowercase hex"},
                      Bad{"app@sha512:" + std::string(128, 'a'), "only sha256"},
                      Bad{"app@latest", "not ALGORITHM:HEX"}, Bad{":tag", "has no repository"},
                      Bad{"ghcr.io/" + std::string(256, 'a'), "longer than 255"}));

TEST(ReferenceTest, TargetIsTheDigestWhenPinned) {
  auto tagged = Reference::parse("app:1");
  auto pinned = Reference::parse("app:1@" + kDigest);
  ASSERT_TRUE(tagged && pinned);
  EXPECT_EQ(tagged->target(), "1");
  EXPECT_EQ(pinned->target(), kDigest);
}

}  // namespace
}  // namespace oak::oci
