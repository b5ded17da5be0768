#include <gtest/gtest.h>
#include <sys/stat.h>

#include "auth/password.h"
#include "auth/tokens.h"
#include "common/clock.h"
#include "temp_dir.h"

namespace oak::auth {
namespace {

TEST(Password, HashVerifies) {
  auto h = hashPassword("s3cret", PasswordCost::minimal());
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_TRUE(h->starts_with("$argon2id$"));
  EXPECT_TRUE(verifyPassword(*h, "s3cret"));
  EXPECT_FALSE(verifyPassword(*h, "s3cret "));
  EXPECT_FALSE(verifyPassword(*h, ""));
  EXPECT_FALSE(verifyPassword("garbage", "s3cret"));
  EXPECT_NE(*h, hashPassword("s3cret", PasswordCost::minimal()).value()) << "salted";
}

TEST(Password, InteractiveCostIsArgon2idWith64MiB) {
  auto h = hashPassword("Admin");
  ASSERT_TRUE(h);
  EXPECT_NE(h->find("m=65536"), std::string::npos) << *h;
  EXPECT_TRUE(verifyPassword(*h, "Admin"));
}

TEST(RandomHex, LengthAndAlphabet) {
  auto a = randomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, randomHex(16));
}

class TokensTest : public ::testing::Test {
 protected:
  SimulatedClock clock_;
  std::unique_ptr<TokenService> tokens_ =
      TokenService::create(std::string(64, 'k'), clock_,
                           {std::chrono::seconds(600), std::chrono::seconds(3600)})
          .value();
};

TEST_F(TokensTest, IssuedTokenVerifiesWithItsClaims) {
  auto t = tokens_->issue(TokenType::kAccess, "alice", {"Admin", "Application_Provider"}, "org1");
  ASSERT_TRUE(t);
  auto c = tokens_->verify(*t, TokenType::kAccess);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->subject, "alice");
  EXPECT_EQ(c->roles, (std::vector<std::string>{"Admin", "Application_Provider"}));
  EXPECT_EQ(c->organization, "org1");
  EXPECT_EQ(c->expires_at - c->issued_at, 600);
  EXPECT_FALSE(c->id.empty());
}

TEST_F(TokensTest, ExpiresOnTheSimulatedClock) {
  auto t = tokens_->issue(TokenType::kAccess, "alice", {}, "o").value();
  clock_.advance(std::chrono::seconds(599));
  EXPECT_TRUE(tokens_->verify(t, TokenType::kAccess));
  clock_.advance(std::chrono::seconds(1));
  auto c = tokens_->verify(t, TokenType::kAccess);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("expired"), std::string::npos);
}

TEST_F(TokensTest, TypeMustMatch) {
  auto refresh = tokens_->issue(TokenType::kRefresh, "alice", {}, "o").value();
  EXPECT_FALSE(tokens_->verify(refresh, TokenType::kAccess));
  EXPECT_TRUE(tokens_->verify(refresh, TokenType::kRefresh));
  clock_.advance(std::chrono::seconds(3600));
  EXPECT_FALSE(tokens_->verify(refresh, TokenType::kRefresh));
}

TEST_F(TokensTest, ForeignKeyTamperingAndAlgNoneAreRejected) {
  auto t = tokens_->issue(TokenType::kAccess, "alice", {"Admin"}, "o").value();
  auto other = TokenService::create(std::string(64, 'x'), clock_).value();
  EXPECT_FALSE(other->verify(t, TokenType::kAccess));
  std::string tampered = t;
  tampered[t.find('.') + 5] ^= 1;
  EXPECT_FALSE(tokens_->verify(tampered, TokenType::kAccess));
  // {"alg":"none","typ":"JWT"} . {"sub":"alice","type":"access","iat":1,"exp":9999999999} .
  std::string none =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
      "eyJzdWIiOiJhbGljZSIsInR5cGUiOiJhY2Nlc3MiLCJpYXQiOjEsImV4cCI6OTk5OTk5OTk5OX0.";
  EXPECT_FALSE(tokens_->verify(none, TokenType::kAccess));
  EXPECT_FALSE(tokens_->verify("", TokenType::kAccess));
  EXPECT_FALSE(tokens_->verify("a.b.c", TokenType::kAccess));
}

TEST(TokenService, RefusesShortKeys) {
  SimulatedClock clock;
  EXPECT_FALSE(TokenService::create("short", clock));
}

TEST(SigningKey, CreatedOnceWithMode0600) {
  oak::testing::TempDir dir;
  auto path = dir.file("key");
  auto k1 = loadOrCreateKey(path);
  ASSERT_TRUE(k1);
  EXPECT_EQ(k1->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(loadOrCreateKey(path).value(), *k1) << "the key persists across restarts";
}

}  // namespace
}  // namespace oak::auth
