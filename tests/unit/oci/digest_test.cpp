#include <gtest/gtest.h>

#include "oci/digest.h"

namespace oak::oci {
namespace {

const std::string kAbc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kEmpty =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, HashesKnownVectors) {
  EXPECT_EQ(sha256Digest("abc"), kAbc);
  EXPECT_EQ(sha256Digest(""), kEmpty);
  Sha256 h;
  h.update("a");
  Sha256 copy = h;  // digest() keeps the hash open, copies continue independently
  EXPECT_EQ(h.digest(), sha256Digest("a"));
  h.update("bc");
  EXPECT_EQ(h.digest(), kAbc);
  EXPECT_EQ(copy.digest(), sha256Digest("a"));
}

TEST(DigestTest, AcceptsOnlySha256) {
  EXPECT_TRUE(checkDigest(kAbc));
  struct Case {
    std::string digest, says;
  };
  for (const auto& c : {Case{"sha512:" + std::string(128, 'a'), "only sha256"},
                        Case{"sha256:" + std::string(63, 'a'), "64 lowercase hex"},
                        Case{"sha256:" + std::string(64, 'A'), "64 lowercase hex"},
                        Case{"sha256:" + std::string(63, 'a') + "g", "64 lowercase hex"},
                        Case{"abc", "not ALGORITHM:HEX"}, Case{":abc", "not ALGORITHM:HEX"}}) {
    auto ok = checkDigest(c.digest);
    ASSERT_FALSE(ok) << c.digest;
    EXPECT_EQ(ok.error().code, ErrorCode::kUnprocessable);
    EXPECT_NE(ok.error().message.find(c.says), std::string::npos) << ok.error().message;
  }
}

TEST(DigestVerifierTest, AcceptsMatchingContentInChunks) {
  DigestVerifier v("blob", kAbc, 3);
  ASSERT_TRUE(v.update("a"));
  ASSERT_TRUE(v.update(""));
  ASSERT_TRUE(v.update("bc"));
  EXPECT_EQ(v.received(), 3);
  EXPECT_TRUE(v.verify());
}

TEST(DigestVerifierTest, ReportsDigestMismatch) {
  DigestVerifier v("blob", kAbc, 3);
  ASSERT_TRUE(v.update("abd"));
  auto ok = v.verify();
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(ok.error().message,
            "blob " + kAbc + ": digest mismatch (got " + sha256Digest("abd") + ")");
}

TEST(DigestVerifierTest, ReportsSizeMismatchEarlyAndLate) {
  DigestVerifier longer("config", kAbc, 3);
  ASSERT_TRUE(longer.update("ab"));
  auto too_long = longer.update("cd");
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().message.find("config " + kAbc + ": size mismatch"), std::string::npos);
  DigestVerifier shorter("blob", kAbc, 3);
  ASSERT_TRUE(shorter.update("ab"));
  auto too_short = shorter.verify();
  ASSERT_FALSE(too_short);
  EXPECT_NE(too_short.error().message.find("got 2 bytes, expected 3"), std::string::npos);
}

TEST(DigestVerifierTest, ResumesWithAndWithoutThePrefixHash) {
  Sha256 prefix;
  prefix.update("a");
  DigestVerifier with("blob", kAbc, 3);
  with.resume(&prefix, 1);
  ASSERT_TRUE(with.update("bd"));
  EXPECT_FALSE(with.verify());  // the digest covers the prefix too

  DigestVerifier size_only("blob", kAbc, 3);
  size_only.resume(nullptr, 1);
  ASSERT_TRUE(size_only.update("bd"));
  EXPECT_TRUE(size_only.verify());  // only the size can be checked
  EXPECT_EQ(size_only.received(), 3);
}

}  // namespace
}  // namespace oak::oci
