// The message framer/deframer and the header values of gRPC's HTTP/2 mapping.
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <string>

#include "rpc/framing.h"
#include "rpc/status.h"

namespace oak::rpc {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> drain(Deframer& d) {
  std::vector<std::string> out;
  for (std::string m; d.next(m);) out.push_back(m);
  return out;
}

TEST(FramingTest, PrefixIsFlagAndBigEndianLength) {
  EXPECT_EQ(framed("abc"), std::string("\0\0\0\0\3abc", 8));
  auto prefix = messagePrefix(0x01020304);
  EXPECT_EQ(prefix, (std::array<uint8_t, 5>{0, 1, 2, 3, 4}));
}

TEST(FramingTest, MessageSplitAcrossChunks) {
  std::string body = framed("hello world");
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    Deframer d(1024);
    ASSERT_TRUE(d.feed(std::string_view(body).substr(0, cut)));
    EXPECT_EQ(d.pending(), cut == body.size() ? 1u : 0u);
    EXPECT_EQ(d.midMessage(), cut > 0 && cut < body.size()) << cut;
    ASSERT_TRUE(d.feed(std::string_view(body).substr(cut)));
    EXPECT_EQ(drain(d), std::vector<std::string>{"hello world"}) << cut;
    EXPECT_FALSE(d.midMessage());
  }
}

TEST(FramingTest, ByteByByte) {
  std::string body = framed("ab") + framed("") + framed("cde");
  Deframer d(1024);
  for (char c : body) ASSERT_TRUE(d.feed(std::string_view(&c, 1)));
  EXPECT_EQ(drain(d), (std::vector<std::string>{"ab", "", "cde"}));
}

TEST(FramingTest, SeveralMessagesInOneChunk) {
  Deframer d(1024);
  ASSERT_TRUE(d.feed(framed("one") + framed("two") + framed("thr")));
  EXPECT_EQ(d.pending(), 3u);
  EXPECT_EQ(drain(d), (std::vector<std::string>{"one", "two", "thr"}));
}

TEST(FramingTest, EmptyMessageAtTheEndOfAChunk) {
  Deframer d(1024);
  ASSERT_TRUE(d.feed(framed("x") + framed("")));
  EXPECT_EQ(drain(d), (std::vector<std::string>{"x", ""}));
}

TEST(FramingTest, OversizeMessageIsResourceExhausted) {
  Deframer d(4);
  ASSERT_TRUE(d.feed(framed("1234")));
  EXPECT_FALSE(d.feed(framed("12345")));
  EXPECT_EQ(d.error().code, StatusCode::kResourceExhausted);
  EXPECT_NE(d.error().message.find("5 bytes"), std::string::npos) << d.error().message;
  // Refused from the prefix alone, and for good: later bytes are ignored.
  EXPECT_FALSE(d.feed(framed("1")));
  EXPECT_EQ(drain(d), std::vector<std::string>{"1234"});
}

TEST(FramingTest, CompressedMessageIsRefused) {
  Deframer d(1024);
  EXPECT_FALSE(d.feed(std::string("\1\0\0\0\3abc", 8)));
  EXPECT_EQ(d.error().code, StatusCode::kUnimplemented);
  EXPECT_NE(d.error().message.find("compressed"), std::string::npos) << d.error().message;
  Deframer other(1024);
  EXPECT_FALSE(other.feed(std::string("\x80\0\0\0\0", 5)));
  EXPECT_EQ(other.error().code, StatusCode::kInternal);
}

TEST(FramingTest, ResetForgetsEverything) {
  Deframer d(4);
  EXPECT_FALSE(d.feed(framed("12345")));
  d.reset();
  EXPECT_TRUE(d.error().ok());
  ASSERT_TRUE(d.feed(framed("12")));
  EXPECT_EQ(drain(d), std::vector<std::string>{"12"});
}

TEST(StatusTest, PercentDecoding) {
  EXPECT_EQ(percentDecode("plain text"), "plain text");
  EXPECT_EQ(percentDecode("a%20b%3A%25"), "a b:%");
  EXPECT_EQ(percentDecode("caf%C3%A9"), "caf\xC3\xA9");
  // Malformed escapes stay as they are.
  EXPECT_EQ(percentDecode("100%"), "100%");
  EXPECT_EQ(percentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(percentDecode("%4a%4A"), "JJ");
}

TEST(StatusTest, Trailers) {
  auto s = statusFromTrailers("5", "container%20%22x%22%3A%20not%20found");
  EXPECT_EQ(s.code, StatusCode::kNotFound);
  EXPECT_EQ(s.message, "container \"x\": not found");
  EXPECT_TRUE(statusFromTrailers("0", "").ok());
  EXPECT_EQ(statusFromTrailers("16", "").code, StatusCode::kUnauthenticated);
  EXPECT_EQ(statusFromTrailers("17", "").code, StatusCode::kUnknown);
  EXPECT_EQ(statusFromTrailers("", "").code, StatusCode::kUnknown);
  auto junk = statusFromTrailers("1x", "why");
  EXPECT_EQ(junk.code, StatusCode::kUnknown);
  EXPECT_NE(junk.message.find("why"), std::string::npos);
}

TEST(StatusTest, HttpStatusMapsAsGrpcDoes) {
  EXPECT_EQ(statusFromHttp(400).code, StatusCode::kInternal);
  EXPECT_EQ(statusFromHttp(401).code, StatusCode::kUnauthenticated);
  EXPECT_EQ(statusFromHttp(403).code, StatusCode::kPermissionDenied);
  EXPECT_EQ(statusFromHttp(404).code, StatusCode::kUnimplemented);
  for (int http : {429, 502, 503, 504}) {
    EXPECT_EQ(statusFromHttp(http).code, StatusCode::kUnavailable) << http;
  }
  EXPECT_EQ(statusFromHttp(500).code, StatusCode::kUnknown);
  EXPECT_NE(statusFromHttp(503).message.find("503"), std::string::npos);
}

TEST(StatusTest, StreamResets) {
  EXPECT_EQ(statusFromReset(NGHTTP2_REFUSED_STREAM).code, StatusCode::kUnavailable);
  EXPECT_EQ(statusFromReset(NGHTTP2_CANCEL).code, StatusCode::kCancelled);
  EXPECT_EQ(statusFromReset(NGHTTP2_PROTOCOL_ERROR).code, StatusCode::kInternal);
  EXPECT_EQ(statusFromReset(NGHTTP2_ENHANCE_YOUR_CALM).code, StatusCode::kResourceExhausted);
}

TEST(StatusTest, GrpcTimeoutHasAtMostEightDigits) {
  EXPECT_EQ(grpcTimeout(1500ms), "1500m");
  EXPECT_EQ(grpcTimeout(0ms), "1m");
  EXPECT_EQ(grpcTimeout(99'999'999ms), "99999999m");
  EXPECT_EQ(grpcTimeout(100'000'000ms), "100000S");
  EXPECT_EQ(grpcTimeout(100'000'001ms), "100001S");  // rounded up
  EXPECT_EQ(grpcTimeout(std::chrono::hours(24 * 365 * 10)), "5256000M");
  EXPECT_EQ(grpcTimeout(std::chrono::milliseconds::max()).size(), 9u);
}

}  // namespace
}  // namespace oak::rpc
