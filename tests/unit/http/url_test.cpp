#include <gtest/gtest.h>

#include "http/client.h"

namespace oak::http {
namespace {

struct UrlCase {
  std::string text;
  std::string host;
  uint16_t port;
  std::string base_path;
};

class UrlParseOk : public ::testing::TestWithParam<UrlCase> {};

TEST_P(UrlParseOk, Parses) {
  const auto& c = GetParam();
  auto u = Url::parse(c.text);
  ASSERT_TRUE(u) << c.text << ": " << u.error().message;
  EXPECT_EQ(u->host, c.host) << c.text;
  EXPECT_EQ(u->port, c.port) << c.text;
  EXPECT_EQ(u->base_path, c.base_path) << c.text;
}

INSTANTIATE_TEST_SUITE_P(Table, UrlParseOk,
                         ::testing::Values(UrlCase{"http://h:1/base/", "h", 1, "/base"},
                                           UrlCase{"http://h:1/base", "h", 1, "/base"},
                                           UrlCase{"http://h:1/a/b//", "h", 1, "/a/b"},
                                           UrlCase{"http://h:1/", "h", 1, ""},
                                           UrlCase{"http://example.org", "example.org", 80, ""},
                                           UrlCase{"h:80", "h", 80, ""},
                                           UrlCase{"127.0.0.1:10000", "127.0.0.1", 10000, ""},
                                           UrlCase{"localhost", "localhost", 80, ""},
                                           UrlCase{"h:65535", "h", 65535, ""},
                                           UrlCase{"[::1]:8080", "::1", 8080, ""},
                                           UrlCase{"http://[fe80::1]:9/api", "fe80::1", 9, "/api"},
                                           UrlCase{"[::1]", "::1", 80, ""}));

class UrlParseBad : public ::testing::TestWithParam<std::string> {};

TEST_P(UrlParseBad, IsRefused) {
  auto u = Url::parse(GetParam());
  ASSERT_FALSE(u) << GetParam() << " parsed as host '" << u->host << "' port " << u->port;
  EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(u.error().message.find(GetParam()), std::string::npos) << u.error().message;
}

INSTANTIATE_TEST_SUITE_P(Table, UrlParseBad,
                         ::testing::Values("https://h:443", "ftp://h", "h:0", "h:65536",
                                           "h:99999999999", "h:-1", "h:8x", "h:x",
                                           "h:", "http://h:/x", "[::1]x", "[::1]:", "[::1", "",
                                           ":80", "http://", "http:///base"));

TEST(UrlParse, HttpsMessageSaysOnlyHttp) {
  auto u = Url::parse("https://h");
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("only http://"), std::string::npos) << u.error().message;
}

}  // namespace
}  // namespace oak::http
