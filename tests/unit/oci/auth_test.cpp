#include <gtest/gtest.h>

#include "common/clock.h"
#include "oci/auth.h"

namespace oak::oci {
namespace {

TEST(ChallengeTest, ParsesDockerHubBearer) {
  auto c =
      parseChallenges(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                      R"(scope="repository:library/busybox:pull")");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ((*c)[0].param("service"), "registry.docker.io");
  EXPECT_EQ((*c)[0].param("scope"), "repository:library/busybox:pull");
  EXPECT_EQ((*c)[0].param("error"), "");
}

TEST(ChallengeTest, ToleratesSpacingCaseTokensAndEscapes) {
  auto c = parseChallenges(
      R"(  BEARER  Realm = "https://r/t" , service=reg.io,  error="insufficient \"scope\"" )");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].scheme, "bearer");
  EXPECT_EQ((*c)[0].param("realm"), "https://r/t");
  EXPECT_EQ((*c)[0].param("service"), "reg.io");
  EXPECT_EQ((*c)[0].param("error"), R"(insufficient "scope")");
}

TEST(ChallengeTest, ParsesSeveralChallenges) {
  auto c = parseChallenges(R"(Basic realm="Registry", Bearer realm="https://x/token")");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->size(), 2u);
  EXPECT_EQ((*c)[0].scheme, "basic");
  EXPECT_EQ((*c)[0].param("realm"), "Registry");
  EXPECT_EQ((*c)[1].scheme, "bearer");
  EXPECT_EQ((*c)[1].param("realm"), "https://x/token");
  auto bare = parseChallenges("Basic");
  ASSERT_TRUE(bare);
  EXPECT_EQ((*bare)[0].scheme, "basic");
}

TEST(ChallengeTest, RejectsMalformedHeaders) {
  for (const char* bad : {"", "   ", R"(realm="x")", R"(Bearer realm="unterminated)",
                          R"(Bearer realm="a" junk="b" "c")", "Bearer @"}) {
    auto c = parseChallenges(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code, ErrorCode::kUnprocessable);
  }
}

TEST(TokenUrlTest, EncodesServiceAndScope) {
  Challenge c{"bearer",
              {{"realm", "https://auth.example/token"},
               {"service", "reg ex"},
               {"scope", "repository:a/b:pull"}}};
  EXPECT_EQ(tokenUrl(c, "ignored"),
            "https://auth.example/token?service=reg%20ex&scope=repository%3Aa%2Fb%3Apull");
  Challenge no_scope{"bearer", {{"realm", "https://auth.example/token?x=1"}}};
  EXPECT_EQ(tokenUrl(no_scope, "repository:app:pull"),
            "https://auth.example/token?x=1&scope=repository%3Aapp%3Apull");
}

TEST(TokenResponseTest, ReadsTokenAndLifetime) {
  auto t = parseTokenResponse(R"({"token":"abc","expires_in":300,"issued_at":"2024-01-01"})");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->value, "abc");
  EXPECT_EQ(t->lifetime, std::chrono::seconds(300));
  auto access = parseTokenResponse(R"({"access_token":"xyz"})");
  ASSERT_TRUE(access);
  EXPECT_EQ(access->value, "xyz");
  EXPECT_EQ(access->lifetime, std::chrono::seconds(60));
  EXPECT_FALSE(parseTokenResponse("{}"));
  EXPECT_FALSE(parseTokenResponse("not json"));
}

TEST(BasicAuthorizationTest, EncodesUserAndPassword) {
  EXPECT_EQ(basicAuthorization("alice", "secret"), "Basic YWxpY2U6c2VjcmV0");
  EXPECT_EQ(basicAuthorization("a", ""), "Basic YTo=");
}

TEST(TokenCacheTest, ForgetsTokensWhenTheyExpire) {
  SimulatedClock clock;
  TokenCache cache(clock);
  cache.put("reg repository:a:pull", Token{"t1", std::chrono::seconds(60)});
  EXPECT_EQ(cache.get("reg repository:a:pull"), "t1");
  EXPECT_EQ(cache.get("reg repository:b:pull"), std::nullopt);
  clock.advance(std::chrono::seconds(50));
  EXPECT_EQ(cache.get("reg repository:a:pull"), "t1");
  // Expires a little early, so that it is not used in its last seconds.
  clock.advance(std::chrono::seconds(6));
  EXPECT_EQ(cache.get("reg repository:a:pull"), std::nullopt);
  cache.put("k", Token{"t2", std::chrono::seconds(600)});
  cache.drop("k");
  EXPECT_EQ(cache.get("k"), std::nullopt);
}

}  // namespace
}  // namespace oak::oci
