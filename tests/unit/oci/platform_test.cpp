#include <gtest/gtest.h>

#include <boost/json/object.hpp>

#include "oci/manifest.h"
#include "oci/platform.h"

namespace oak::oci {
namespace {

Platform platform(const std::string& text) {
  return Platform::parse(text).value();
}

TEST(PlatformTest, MapsKernelMachineNames) {
  EXPECT_EQ(Platform::fromMachine("x86_64").str(), "linux/amd64");
  EXPECT_EQ(Platform::fromMachine("aarch64").str(), "linux/arm64/v8");
  EXPECT_EQ(Platform::fromMachine("armv7l").str(), "linux/arm/v7");
  EXPECT_EQ(Platform::fromMachine("armv6l").str(), "linux/arm/v6");
  EXPECT_EQ(Platform::fromMachine("i686").str(), "linux/386");
  EXPECT_EQ(Platform::fromMachine("riscv64").str(), "linux/riscv64");
  EXPECT_TRUE(Platform::fromMachine("pdp11").architecture.empty());
  EXPECT_FALSE(Platform::host().architecture.empty());
}

TEST(PlatformTest, ParsesAndRejects) {
  EXPECT_EQ(platform("linux/arm/v7"), (Platform{"linux", "arm", "v7"}));
  EXPECT_EQ(platform("windows/amd64"), (Platform{"windows", "amd64", ""}));
  for (const char* bad : {"", "linux", "linux/", "/amd64", "linux/arm/v7/x", "linux//v7"}) {
    auto p = Platform::parse(bad);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code, ErrorCode::kUnprocessable);
  }
}

TEST(PlatformTest, AcceptsMatchingOsArchitectureAndVariant) {
  EXPECT_TRUE(platform("linux/amd64").accepts(platform("linux/amd64")));
  EXPECT_FALSE(platform("linux/amd64").accepts(platform("linux/arm64")));
  EXPECT_FALSE(platform("linux/amd64").accepts(platform("windows/amd64")));
  // No variant wanted: any variant of the architecture will do.
  EXPECT_TRUE(platform("linux/arm").accepts(platform("linux/arm/v6")));
  // arm64 entries without a variant are v8; arm ones are v7.
  EXPECT_TRUE(platform("linux/arm64/v8").accepts(platform("linux/arm64")));
  EXPECT_TRUE(platform("linux/arm64/v8").accepts(platform("linux/arm64/v8")));
  EXPECT_TRUE(platform("linux/arm/v7").accepts(platform("linux/arm")));
  EXPECT_FALSE(platform("linux/arm/v7").accepts(platform("linux/arm/v6")));
  EXPECT_FALSE(platform("linux/arm/v6").accepts(platform("linux/arm")));
}

std::vector<IndexEntry> entries(const std::vector<std::string>& platforms) {
  std::vector<IndexEntry> out;
  char digit = 'a';
  for (const auto& p : platforms) {
    Descriptor d{std::string(media::kOciManifest), "sha256:" + std::string(64, digit++), 100};
    out.push_back({d, p.empty() ? Platform{"", "", ""} : platform(p)});
  }
  return out;
}

TEST(SelectManifestTest, PicksTheFirstAcceptedEntry) {
  auto list = entries({"linux/amd64", "linux/arm/v7", "linux/arm64/v8", "linux/arm64"});
  auto amd64 = selectManifest(list, platform("linux/amd64"), "app");
  ASSERT_TRUE(amd64) << amd64.error().message;
  EXPECT_EQ(amd64->digest, list[0].descriptor.digest);
  auto arm64 = selectManifest(list, platform("linux/arm64/v8"), "app");
  ASSERT_TRUE(arm64);
  EXPECT_EQ(arm64->digest, list[2].descriptor.digest);
  auto arm = selectManifest(list, platform("linux/arm/v7"), "app");
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->digest, list[1].descriptor.digest);
}

TEST(SelectManifestTest, Arm64WithoutVariantMatchesV8) {
  auto list = entries({"linux/amd64", "linux/arm64"});
  auto arm64 = selectManifest(list, Platform::fromMachine("aarch64"), "app");
  ASSERT_TRUE(arm64);
  EXPECT_EQ(arm64->digest, list[1].descriptor.digest);
}

TEST(SelectManifestTest, NamesWhatTheIndexOffers) {
  auto list = entries({"linux/amd64", "linux/arm/v7", "unknown/unknown", ""});
  auto none = selectManifest(list, platform("linux/arm64/v8"), "ghcr.io/org/app:1");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(none.error().message,
            "image ghcr.io/org/app:1 has no manifest for linux/arm64/v8 "
            "(has: linux/amd64, linux/arm/v7)");
}

TEST(SelectManifestTest, SkipsEntriesThatAreNotImageManifests) {
  auto list = entries({"linux/amd64", "linux/amd64"});
  list[0].descriptor.media_type = "application/vnd.in-toto+json";
  auto chosen = selectManifest(list, platform("linux/amd64"), "app");
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->digest, list[1].descriptor.digest);
}

}  // namespace
}  // namespace oak::oci
