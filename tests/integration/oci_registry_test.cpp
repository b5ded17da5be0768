// RegistryClient against a real registry (docker-registry on loopback) holding busybox images
// built and pushed by the LocalRegistry fixture.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "oci/digest.h"
#include "oci/registry_client.h"
#include "process.h"
#include "registry.h"
#include "temp_dir.h"

namespace oak::oci {
namespace {

using oak::testing::LocalRegistry;

class OciRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = LocalRegistry::start();
    ASSERT_TRUE(r) << r.error().message;
    registry_ = std::move(*r);
  }

  void TearDown() override {
    if (registry_ && HasFailure()) std::cerr << "--- registry log ---\n" << registry_->log();
  }

  static Reference ref(const std::string& text) { return Reference::parse(text).value(); }

  // Fetches every layer and checks what arrived against its descriptor independently.
  void expectLayersFetch(RegistryClient& client, const ResolvedImage& image) {
    ASSERT_FALSE(image.layers.empty());
    for (const auto& layer : image.layers) {
      Sha256 hash;
      int64_t received = 0;
      auto ok = client.fetchBlob(image.reference, layer, [&](std::string_view chunk) -> Status {
        hash.update(chunk);
        received += static_cast<int64_t>(chunk.size());
        return {};
      });
      ASSERT_TRUE(ok) << ok.error().message;
      EXPECT_EQ(received, layer.size);
      EXPECT_EQ(hash.digest(), layer.digest);
    }
  }

  // `tar -tvzf` of a fetched layer.
  std::string listLayer(RegistryClient& client, const ResolvedImage& image) {
    oak::testing::TempDir dir;
    std::ofstream out(dir.file("layer.tar.gz"), std::ios::binary);
    auto ok = client.fetchBlob(
        image.reference, image.layers.at(0), [&](std::string_view chunk) -> Status {
          out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
          return {};
        });
    out.close();
    EXPECT_TRUE(ok) << ok.error().message;
    oak::testing::Process tar("/bin/tar", {"-tvzf", dir.file("layer.tar.gz")}, {},
                              dir.file("tar.log"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (tar.running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(tar.stop(), 0) << tar.log();
    return tar.log();
  }

  std::unique_ptr<LocalRegistry> registry_;
};

TEST_F(OciRegistryTest, ResolvesAndFetchesEveryLayer) {
  oak::testing::BusyboxImageOptions options;
  options.entrypoint = {"sh", "-c"};
  options.cmd = {"echo hello"};
  options.env = {"GREETING=hi"};
  auto pushed = oak::testing::pushBusyboxImage(*registry_, "tools/busybox", "v1", options);
  ASSERT_TRUE(pushed) << pushed.error().message;
  EXPECT_EQ(pushed->reference, registry_->host() + "/tools/busybox:v1");

  RegistryClient client({});
  auto image = client.resolve(ref(pushed->reference), Platform::host());
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->manifest.digest, pushed->digest);
  EXPECT_EQ(image->manifest.media_type, media::kOciManifest);
  EXPECT_EQ(sha256Digest(image->manifest_bytes), pushed->digest);
  EXPECT_EQ(sha256Digest(image->config_bytes), image->config.digest);
  EXPECT_NE(image->config_bytes.find(R"("Entrypoint":["sh","-c"])"), std::string::npos)
      << image->config_bytes;
  EXPECT_NE(image->config_bytes.find("GREETING=hi"), std::string::npos);
  expectLayersFetch(client, *image);

  // One static busybox and relative links for its applets.
  std::string listing = listLayer(client, *image);
  EXPECT_NE(listing.find("-rwxr-xr-x"), std::string::npos) << listing;
  for (const char* entry : {"bin/busybox", "bin/sh -> busybox", "bin/sleep -> busybox",
                            "bin/cat -> busybox", "etc/passwd"}) {
    EXPECT_NE(listing.find(entry), std::string::npos) << entry << " missing in\n" << listing;
  }
}

TEST_F(OciRegistryTest, ResolvesDockerSchema2Images) {
  oak::testing::BusyboxImageOptions options;
  options.docker_format = true;
  auto pushed = oak::testing::pushBusyboxImage(*registry_, "docker", "v2", options);
  ASSERT_TRUE(pushed) << pushed.error().message;
  RegistryClient client({});
  auto image = client.resolve(ref(pushed->reference), Platform::host());
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->manifest.media_type, media::kDockerManifest);
  EXPECT_EQ(image->config.media_type, media::kDockerConfig);
  EXPECT_EQ(image->manifest.digest, pushed->digest);
  expectLayersFetch(client, *image);
}

TEST_F(OciRegistryTest, SelectsThePlatformOfAMultiPlatformIndex) {
  auto pushed = oak::testing::pushMultiPlatformImage(
      *registry_, "multi", "v1", {"linux/amd64", "linux/arm64/v8", "linux/arm/v7"});
  ASSERT_TRUE(pushed) << pushed.error().message;
  ASSERT_EQ(pushed->manifests.size(), 3u);
  RegistryClient client({});
  for (const auto& [platform, manifest] : pushed->manifests) {
    auto image = client.resolve(ref(pushed->reference), Platform::parse(platform).value());
    ASSERT_TRUE(image) << platform << ": " << image.error().message;
    ASSERT_TRUE(image->index);
    EXPECT_EQ(image->index->digest, pushed->digest);
    EXPECT_EQ(image->manifest.digest, manifest.digest) << platform;
  }
  // arm64 without a variant is v8.
  auto arm64 = client.resolve(ref(pushed->reference), Platform{"linux", "arm64", ""});
  ASSERT_TRUE(arm64) << arm64.error().message;
  EXPECT_EQ(arm64->manifest.digest, pushed->manifests[1].second.digest);

  auto none = client.resolve(ref(pushed->reference), Platform{"linux", "s390x", ""});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(none.error().message, "image " + pushed->reference +
                                      " has no manifest for linux/s390x (has: linux/amd64, "
                                      "linux/arm64/v8, linux/arm/v7)");

  // The host's entry is a runnable image: its layers arrive intact.
  auto host = client.resolve(ref(pushed->reference), Platform::host());
  ASSERT_TRUE(host) << host.error().message;
  expectLayersFetch(client, *host);
}

TEST_F(OciRegistryTest, UnknownTagOrRepositoryIsNotFound) {
  ASSERT_TRUE(oak::testing::pushBusyboxImage(*registry_, "app", "v1"));
  RegistryClient client({});
  auto tag = client.resolve(ref(registry_->host() + "/app:nope"), Platform::host());
  ASSERT_FALSE(tag);
  EXPECT_EQ(tag.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(tag.error().message, "image " + registry_->host() + "/app:nope: manifest unknown");
  auto repo = client.resolve(ref(registry_->host() + "/nope"), Platform::host());
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, ErrorCode::kNotFound);
  EXPECT_NE(repo.error().message.find("image " + registry_->host() + "/nope:latest: "),
            std::string::npos)
      << repo.error().message;
}

TEST_F(OciRegistryTest, ResumesALayerWithARangeRequest) {
  auto pushed = oak::testing::pushBusyboxImage(*registry_, "app", "v1");
  ASSERT_TRUE(pushed) << pushed.error().message;
  RegistryClient client({});
  auto image = client.resolve(ref(pushed->reference), Platform::host());
  ASSERT_TRUE(image) << image.error().message;
  const auto& layer = image->layers.at(0);
  std::string head;
  auto cut = client.fetchBlob(image->reference, layer, [&](std::string_view chunk) -> Status {
    head.append(chunk);
    if (head.size() < 100'000) return {};
    return makeError(ErrorCode::kInternal, "simulated crash");
  });
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().message, "simulated crash");
  Sha256 prefix;
  prefix.update(head);
  std::string tail;
  auto ok = client.fetchBlob(
      image->reference, layer,
      [&](std::string_view chunk) -> Status {
        tail.append(chunk);
        return {};
      },
      static_cast<int64_t>(head.size()), &prefix);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(static_cast<int64_t>(head.size() + tail.size()), layer.size);
  EXPECT_EQ(sha256Digest(head + tail), layer.digest);
}

TEST_F(OciRegistryTest, RegistryDownIsUnavailableQuickly) {
  auto pushed = oak::testing::pushBusyboxImage(*registry_, "app", "v1");
  ASSERT_TRUE(pushed) << pushed.error().message;
  RegistryClient client({});
  auto image = client.resolve(ref(pushed->reference), Platform::host());
  ASSERT_TRUE(image) << image.error().message;
  registry_->stop();

  auto start = std::chrono::steady_clock::now();
  auto again = client.resolve(ref(pushed->reference), Platform::host());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(again.error().message.find("cannot reach http://" + registry_->host()),
            std::string::npos)
      << again.error().message;
  auto blob = client.fetchBlob(image->reference, image->layers.at(0),
                               [](std::string_view) -> Status { return {}; });
  ASSERT_FALSE(blob);
  EXPECT_EQ(blob.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace oak::oci
