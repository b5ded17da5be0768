// RegistryClient against FakeRegistry over real sockets: auth, redirects, error mapping and
// verification.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "common/clock.h"
#include "fake_registry.h"
#include "oci/digest.h"
#include "oci/registry_client.h"
#include "process.h"

namespace oak::oci {
namespace {

using testing::FakeImage;
using testing::FakeRegistry;

Platform amd64() {
  return Platform{"linux", "amd64", ""};
}

// The result is an error of `code` whose message contains `says`.
template <class T>
::testing::AssertionResult failsWith(const Result<T>& r, ErrorCode code, const std::string& says) {
  if (r) return ::testing::AssertionFailure() << "succeeded";
  if (r.error().code != code || r.error().message.find(says) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "failed with code " << static_cast<int>(r.error().code) << ": " << r.error().message;
  }
  return ::testing::AssertionSuccess();
}

class RegistryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = testing::makeImage("amd64");
    registry_.putImage("v1", image_);
  }

  Reference ref(const std::string& name_and_tag) {
    return Reference::parse(registry_.host() + "/" + name_and_tag).value();
  }

  RegistryClient client(RegistryOptions options = {}) {
    if (!options.clock) options.clock = &clock_;
    return RegistryClient(std::move(options));
  }

  Result<std::string> fetchAll(RegistryClient& c, const Reference& r, const Descriptor& d) {
    std::string out;
    auto ok = c.fetchBlob(r, d, [&](std::string_view chunk) -> Status {
      out.append(chunk);
      return {};
    });
    if (!ok) return ok.error();
    return out;
  }

  Descriptor layer() const {
    return {"application/vnd.oci.image.layer.v1.tar+gzip", image_.layer_digest,
            static_cast<int64_t>(image_.layer.size())};
  }

  SimulatedClock clock_;
  FakeRegistry registry_;
  FakeImage image_;
};

TEST_F(RegistryClientTest, ResolvesAnImageManifestAndItsConfig) {
  auto c = client();
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_FALSE(img->index);
  EXPECT_EQ(img->manifest.media_type, media::kOciManifest);
  EXPECT_EQ(img->manifest.digest, image_.manifest_digest);
  EXPECT_EQ(img->manifest_bytes, image_.manifest);
  EXPECT_EQ(img->config.digest, image_.config_digest);
  EXPECT_EQ(img->config_bytes, image_.config);
  ASSERT_EQ(img->layers.size(), 1u);
  EXPECT_EQ(img->layers[0], layer());

  auto bytes = fetchAll(c, img->reference, img->layers[0]);
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(*bytes, image_.layer);
}

TEST_F(RegistryClientTest, ResolvesByDigestAndDockerTypes) {
  auto docker = testing::makeImage("amd64", true);
  registry_.putImage("docker", docker);
  auto c = client();
  auto img = c.resolve(ref("app@" + docker.manifest_digest), amd64());
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->manifest.media_type, media::kDockerManifest);
  EXPECT_EQ(img->config.media_type, media::kDockerConfig);
  EXPECT_EQ(img->manifest.digest, docker.manifest_digest);
}

TEST_F(RegistryClientTest, SelectsThePlatformFromAnIndex) {
  auto arm = testing::makeImage("arm");
  registry_.putImage("arm-only", arm);
  std::string index = testing::makeIndex({{"linux/amd64", &image_}, {"linux/arm/v7", &arm}});
  registry_.putManifest("multi", std::string(media::kOciIndex), index);
  auto c = client();

  auto img = c.resolve(ref("app:multi"), Platform{"linux", "arm", "v7"});
  ASSERT_TRUE(img) << img.error().message;
  ASSERT_TRUE(img->index);
  EXPECT_EQ(img->index->digest, sha256Digest(index));
  EXPECT_EQ(img->index_bytes, index);
  EXPECT_EQ(img->manifest.digest, arm.manifest_digest);
  EXPECT_EQ(img->config_bytes, arm.config);

  auto none = c.resolve(ref("app:multi"), Platform{"linux", "arm64", "v8"});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(none.error().message, "image " + registry_.host() +
                                      "/app:multi has no manifest for linux/arm64/v8 (has: "
                                      "linux/amd64, linux/arm/v7)");

  std::string list = testing::makeIndex({{"linux/arm64", &arm}}, true);
  registry_.putManifest("list", std::string(media::kDockerList), list);
  auto from_list = c.resolve(ref("app:list"), Platform::fromMachine("aarch64"));
  ASSERT_TRUE(from_list) << from_list.error().message;
  EXPECT_EQ(from_list->index->media_type, media::kDockerList);
}

TEST_F(RegistryClientTest, RefusesASingleManifestForAnotherPlatform) {
  auto c = client();
  auto img = c.resolve(ref("app:v1"), Platform{"linux", "arm64", "v8"});
  ASSERT_TRUE(
      failsWith(img, ErrorCode::kUnprocessable, "image is for linux/amd64, not linux/arm64/v8"));
}

TEST_F(RegistryClientTest, BearerChallengeTokenAndRetry) {
  registry_.setAuth(FakeRegistry::Auth::kBearer);
  auto c = client();
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(registry_.tokenRequests(), 1);
  auto bytes = fetchAll(c, img->reference, img->layers[0]);
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(registry_.tokenRequests(), 1) << "the token is cached per registry and scope";

  auto seen = registry_.registryRequests();
  ASSERT_GE(seen.size(), 3u);
  EXPECT_EQ(seen[0].authorization, "") << "the first request goes out anonymously";
  EXPECT_EQ(seen[1].path, "/token");
  EXPECT_EQ(seen[1].query, "service=fake-registry&scope=repository%3Aapp%3Apull");
  EXPECT_EQ(seen[1].authorization, "") << "no credentials configured: anonymous token";
  EXPECT_EQ(seen[2].authorization, "Bearer token-1");
  EXPECT_EQ(seen.back().authorization, "Bearer token-1");
  int unauthorized = 0;
  for (const auto& s : seen) unauthorized += s.authorization.empty() && s.path != "/token";
  EXPECT_EQ(unauthorized, 1);
}

TEST_F(RegistryClientTest, RenewsExpiredAndRevokedTokens) {
  registry_.setAuth(FakeRegistry::Auth::kBearer, 60);
  auto c = client();
  ASSERT_TRUE(c.resolve(ref("app:v1"), amd64()));
  EXPECT_EQ(registry_.tokenRequests(), 1);
  clock_.advance(std::chrono::seconds(30));
  ASSERT_TRUE(c.resolve(ref("app:v1"), amd64()));
  EXPECT_EQ(registry_.tokenRequests(), 1);
  clock_.advance(std::chrono::seconds(31));
  ASSERT_TRUE(c.resolve(ref("app:v1"), amd64()));
  EXPECT_EQ(registry_.tokenRequests(), 2) << "an expired token is not sent again";
  EXPECT_EQ(registry_.registryRequests().back().authorization, "Bearer token-2");
  // The registry forgets tokens before we do: the 401 buys a new one.
  registry_.revokeTokens();
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(registry_.tokenRequests(), 3);
}

TEST_F(RegistryClientTest, SendsCredentialsToTheTokenService) {
  registry_.setAuth(FakeRegistry::Auth::kBearer);
  registry_.requireCredentials("alice", "secret");
  RegistryOptions options;
  options.credentials = {"alice", "secret"};
  auto c = client(options);
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(img) << img.error().message;

  options.credentials = {"alice", "wrong"};
  auto wrong = client(options);
  auto refused = wrong.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(failsWith(refused, ErrorCode::kUnauthenticated, "refused the credentials"));
  EXPECT_NE(refused.error().message.find("incorrect username or password"), std::string::npos);
}

TEST_F(RegistryClientTest, UnauthorizedAfterAuthenticating) {
  registry_.setAuth(FakeRegistry::Auth::kBearer);
  registry_.refuseAllTokens(true);
  auto c = client();
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(
      failsWith(img, ErrorCode::kUnauthenticated, "image " + registry_.host() + "/app:v1: "));
  EXPECT_EQ(registry_.tokenRequests(), 1) << "one attempt, no loop";
}

TEST_F(RegistryClientTest, BasicChallenge) {
  registry_.setAuth(FakeRegistry::Auth::kBasic);
  registry_.requireCredentials("alice", "secret");
  auto anonymous = client();
  auto refused = anonymous.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(failsWith(refused, ErrorCode::kUnauthenticated, "requires credentials"));

  RegistryOptions options;
  options.credentials = {"alice", "secret"};
  auto c = client(options);
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(img) << img.error().message;
  auto before = registry_.registryRequests().size();
  ASSERT_TRUE(fetchAll(c, img->reference, img->layers[0]));
  auto seen = registry_.registryRequests();
  ASSERT_EQ(seen.size(), before + 1) << "basic credentials are sent without a new challenge";
  EXPECT_EQ(seen.back().authorization, "Basic YWxpY2U6c2VjcmV0");
}

TEST_F(RegistryClientTest, UnknownTagIsNotFound) {
  auto c = client();
  auto img = c.resolve(ref("nope:latest"), amd64());
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(img.error().message, "image " + registry_.host() + "/nope:latest: manifest unknown");

  auto blob = fetchAll(c, ref("app:v1"), Descriptor{"x", "sha256:" + std::string(64, '0'), 5});
  ASSERT_TRUE(failsWith(blob, ErrorCode::kNotFound, "blob sha256:000"));
  EXPECT_NE(blob.error().message.find("blob unknown to registry"), std::string::npos);
}

TEST_F(RegistryClientTest, ServerErrorIsUnavailable) {
  registry_.failWith(500);
  auto c = client();
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(failsWith(img, ErrorCode::kUnavailable, "answered 500: the disk is on fire"));
  registry_.failWith(429);
  EXPECT_EQ(c.resolve(ref("app:v1"), amd64()).error().code, ErrorCode::kUnavailable);
  registry_.failWith(403);
  EXPECT_EQ(c.resolve(ref("app:v1"), amd64()).error().code, ErrorCode::kPermissionDenied);
}

TEST_F(RegistryClientTest, UnreachableRegistryIsUnavailable) {
  uint16_t port = oak::testing::pickFreePort();
  auto c = client();
  auto start = std::chrono::steady_clock::now();
  auto img =
      c.resolve(Reference::parse("127.0.0.1:" + std::to_string(port) + "/app").value(), amd64());
  ASSERT_TRUE(failsWith(img, ErrorCode::kUnavailable, "cannot reach http://127.0.0.1:"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(RegistryClientTest, ManifestDigestMismatch) {
  // Served under a digest that is not its own.
  std::string wrong = "sha256:" + std::string(64, 'e');
  registry_.putManifest(wrong, image_.manifest_type, image_.manifest);
  auto c = client();
  auto img = c.resolve(ref("app@" + wrong), amd64());
  ASSERT_TRUE(
      failsWith(img, ErrorCode::kUnprocessable,
                "manifest " + wrong + ": digest mismatch (got " + image_.manifest_digest + ")"));
}

TEST_F(RegistryClientTest, BlobDigestMismatch) {
  std::string tampered = image_.layer;
  tampered[100] ^= 1;
  registry_.putBlob(image_.layer_digest, tampered);
  auto c = client();
  auto bytes = fetchAll(c, ref("app:v1"), layer());
  ASSERT_FALSE(bytes);
  EXPECT_EQ(bytes.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(bytes.error().message, "image " + registry_.host() + "/app:v1: blob " +
                                       image_.layer_digest + ": digest mismatch (got " +
                                       sha256Digest(tampered) + ")");
  // A config that does not match fails the resolve.
  registry_.putBlob(image_.config_digest, image_.config + " ");
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_FALSE(img);
  EXPECT_NE(img.error().message.find("size mismatch"), std::string::npos) << img.error().message;
}

TEST_F(RegistryClientTest, RefusesUnsupportedDigestAlgorithms) {
  auto c = client();
  auto bytes = fetchAll(c, ref("app:v1"), Descriptor{"x", "sha512:" + std::string(128, 'a'), 1});
  ASSERT_TRUE(failsWith(bytes, ErrorCode::kUnprocessable, "only sha256"));
}

TEST_F(RegistryClientTest, FollowsBlobRedirectsWithoutLeakingTheToken) {
  registry_.setAuth(FakeRegistry::Auth::kBearer);
  registry_.redirectBlobs(true);
  auto c = client();
  auto img = c.resolve(ref("app:v1"), amd64());
  ASSERT_TRUE(img) << img.error().message;
  EXPECT_EQ(img->config_bytes, image_.config);
  auto bytes = fetchAll(c, img->reference, img->layers[0]);
  ASSERT_TRUE(bytes) << bytes.error().message;
  EXPECT_EQ(*bytes, image_.layer);
  auto cdn = registry_.cdnRequests();
  ASSERT_EQ(cdn.size(), 2u);
  for (const auto& s : cdn) {
    EXPECT_EQ(s.authorization, "") << s.path;
    EXPECT_EQ(s.query, "signature=abc");
  }
}

TEST_F(RegistryClientTest, RefusesSchema1) {
  registry_.putManifest("old", std::string(media::kDockerSchema1Signed),
                        R"({"schemaVersion":1,"name":"app","tag":"old","fsLayers":[]})");
  auto c = client();
  auto img = c.resolve(ref("app:old"), amd64());
  ASSERT_TRUE(failsWith(img, ErrorCode::kUnprocessable, "schema 1 manifests are not supported"));
}

TEST_F(RegistryClientTest, RefusesHugeManifests) {
  std::string huge = R"({"schemaVersion":2,"pad":")" + std::string(5 << 20, 'x') + "\"}";
  registry_.putManifest("huge", std::string(media::kOciManifest), huge);
  auto c = client();
  auto img = c.resolve(ref("app:huge"), amd64());
  ASSERT_TRUE(failsWith(img, ErrorCode::kUnprocessable, "larger than 4 MiB"));
}

TEST_F(RegistryClientTest, ResumesWithARangeRequest) {
  auto c = client();
  const int64_t offset = 70000;
  Sha256 prefix;
  prefix.update(std::string_view(image_.layer).substr(0, offset));
  for (bool ranges : {true, false}) {
    registry_.honourRanges(ranges);
    std::string rest;
    auto ok = c.fetchBlob(
        ref("app:v1"), layer(),
        [&](std::string_view chunk) -> Status {
          rest.append(chunk);
          return {};
        },
        offset, &prefix);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(rest, image_.layer.substr(offset)) << "ranges honoured: " << ranges;
  }
  registry_.honourRanges(true);
  EXPECT_EQ(registry_.registryRequests().back().path, "/v2/app/blobs/" + image_.layer_digest);

  // A prefix that is not the blob's start fails the digest check.
  Sha256 wrong;
  wrong.update(std::string(offset, 'x'));
  auto bad = c.fetchBlob(
      ref("app:v1"), layer(), [](std::string_view) -> Status { return {}; }, offset, &wrong);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("digest mismatch"), std::string::npos);
}

TEST_F(RegistryClientTest, SinkErrorAbortsTheTransfer) {
  auto c = client();
  int chunks = 0;
  auto ok = c.fetchBlob(ref("app:v1"), layer(), [&](std::string_view) -> Status {
    ++chunks;
    return makeError(ErrorCode::kInternal, "disk full");
  });
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, ErrorCode::kInternal);
  EXPECT_EQ(ok.error().message, "disk full");
  EXPECT_EQ(chunks, 1);
}

TEST_F(RegistryClientTest, CancelAbortsTheTransfer) {
  std::atomic<bool> cancel{false};
  RegistryOptions options;
  options.cancelled = [&] { return cancel.load(); };
  auto c = client(options);
  auto ok = c.fetchBlob(ref("app:v1"), layer(), [&](std::string_view) -> Status {
    cancel = true;
    return {};
  });
  ASSERT_TRUE(failsWith(ok, ErrorCode::kUnavailable, "pull cancelled"));
}

TEST(RegistrySchemeTest, PlainHttpForLoopbackAndInsecureRegistries) {
  RegistryOptions options;
  options.insecure_registries = {"registry.lan:5000"};
  RegistryClient c(options);
  EXPECT_EQ(c.schemeFor("127.0.0.1:5000"), "http");
  EXPECT_EQ(c.schemeFor("127.1.2.3"), "http");
  EXPECT_EQ(c.schemeFor("localhost:5000"), "http");
  EXPECT_EQ(c.schemeFor("[::1]:5000"), "http");
  EXPECT_EQ(c.schemeFor("registry.lan:5000"), "http");
  EXPECT_EQ(c.schemeFor("registry.lan"), "https");
  EXPECT_EQ(c.schemeFor("docker.io"), "https");
  EXPECT_EQ(c.schemeFor("128.0.0.1:5000"), "https");
}

}  // namespace
}  // namespace oak::oci
