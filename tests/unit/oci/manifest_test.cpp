#include <gtest/gtest.h>

#include <boost/json/object.hpp>

#include "oci/manifest.h"

namespace oak::oci {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

boost::json::object doc(const std::string& text) {
  return parseDocument(text).value();
}

std::string imageManifest(const std::string& config_type = std::string(media::kOciConfig)) {
  return R"({"schemaVersion":2,"config":{"mediaType":")" + config_type + R"(","digest":")" + kD1 +
         R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         kD2 + R"(","size":20}]})";
}

TEST(ManifestTest, AcceptHeaderListsTheFourTypes) {
  std::string_view accept = media::manifestAccept();
  for (auto type :
       {media::kOciIndex, media::kDockerList, media::kOciManifest, media::kDockerManifest}) {
    EXPECT_NE(accept.find(type), std::string_view::npos) << type;
  }
  EXPECT_EQ(accept.find("distribution.manifest.v1"), std::string_view::npos);  // no schema 1
}

TEST(ManifestTest, MediaTypeFromDocumentHeaderOrShape) {
  auto typed = doc(R"({"schemaVersion":2,"mediaType":")" + std::string(media::kDockerList) +
                   R"(","manifests":[]})");
  EXPECT_EQ(manifestMediaType("application/json", typed).value(), media::kDockerList);
  EXPECT_EQ(manifestMediaType(std::string(media::kDockerManifest) + "; charset=utf-8",
                              doc(imageManifest()))
                .value(),
            media::kDockerManifest);
  EXPECT_EQ(manifestMediaType("application/json", doc(imageManifest())).value(),
            media::kOciManifest);
  EXPECT_EQ(manifestMediaType("", doc(R"({"schemaVersion":2,"manifests":[]})")).value(),
            media::kOciIndex);
  auto unknown = manifestMediaType("text/html", doc(R"({"hello":1})"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unsupported media type 'text/html'"), std::string::npos);
}

TEST(ManifestTest, RefusesSchema1) {
  auto by_header = manifestMediaType(media::kDockerSchema1Signed, doc(R"({"schemaVersion":1})"));
  ASSERT_FALSE(by_header);
  EXPECT_EQ(by_header.error().code, ErrorCode::kUnprocessable);
  EXPECT_NE(by_header.error().message.find("schema 1"), std::string::npos);
  EXPECT_FALSE(manifestMediaType("application/json", doc(R"({"schemaVersion":1,"fsLayers":[]})")));
  EXPECT_FALSE(parseImageManifest(doc(R"({"schemaVersion":1})")));
}

TEST(ManifestTest, ParsesImageManifest) {
  auto m = parseImageManifest(doc(imageManifest()));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->config, (Descriptor{std::string(media::kOciConfig), kD1, 10}));
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest, kD2);
  EXPECT_EQ(m->layers[0].size, 20);
}

TEST(ManifestTest, RefusesNonImagesAndBrokenDescriptors) {
  auto artifact =
      parseImageManifest(doc(imageManifest("application/vnd.cncf.helm.config.v1+json")));
  ASSERT_FALSE(artifact);
  EXPECT_NE(artifact.error().message.find("not a container image"), std::string::npos);
  auto bad_digest = parseImageManifest(doc(
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"md5:x","size":1},"layers":[]})"));
  ASSERT_FALSE(bad_digest);
  EXPECT_NE(bad_digest.error().message.find("config.digest"), std::string::npos);
  auto no_size = parseImageManifest(doc(
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      kD1 + R"("},"layers":[]})"));
  ASSERT_FALSE(no_size);
  EXPECT_NE(no_size.error().message.find("config.size"), std::string::npos);
  EXPECT_FALSE(parseDocument("[1,2]"));
  EXPECT_FALSE(parseDocument("{"));
}

TEST(ManifestTest, ParsesIndexEntriesWithPlatforms) {
  auto entries = parseIndex(doc(R"({"schemaVersion":2,"manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                                kD1 + R"(","size":5,
       "platform":{"os":"linux","architecture":"arm","variant":"v7"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                                kD2 + R"(","size":6}]})"));
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].platform.str(), "linux/arm/v7");
  EXPECT_EQ((*entries)[1].platform.architecture, "");
  auto broken = parseIndex(doc(R"({"schemaVersion":2,"manifests":[{"digest":")" + kD1 + R"("}]})"));
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("manifests[0].mediaType"), std::string::npos);
}

}  // namespace
}  // namespace oak::oci
