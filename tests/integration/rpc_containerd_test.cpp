// The gRPC channel (src/rpc) against a private containerd: unary calls, a server stream and the
// bidirectional content ingest, with messages encoded by hand (the library is protobuf-free).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "containerd_daemon.h"
#include "oci/digest.h"
#include "rpc/channel.h"

namespace oak::rpc {
namespace {

using namespace std::chrono_literals;

// --- Just enough protobuf wire format for these messages ---

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putBytes(std::string& out, int field, std::string_view bytes) {
  putVarint(out, static_cast<uint64_t>(field) << 3 | 2);
  putVarint(out, bytes.size());
  out.append(bytes);
}

void putInt(std::string& out, int field, uint64_t value) {
  putVarint(out, static_cast<uint64_t>(field) << 3);
  putVarint(out, value);
}

std::optional<uint64_t> getVarint(std::string_view& in) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return v;
  }
  return std::nullopt;
}

// Top-level fields: varints and length-delimited ones (the last occurrence of each).
struct Fields {
  std::map<int, uint64_t> ints;
  std::map<int, std::string> bytes;
};

std::optional<Fields> parse(std::string_view in) {
  Fields f;
  while (!in.empty()) {
    auto key = getVarint(in);
    if (!key) return std::nullopt;
    int field = static_cast<int>(*key >> 3);
    switch (*key & 7) {
      case 0: {
        auto v = getVarint(in);
        if (!v) return std::nullopt;
        f.ints[field] = *v;
        break;
      }
      case 2: {
        auto n = getVarint(in);
        if (!n || *n > in.size()) return std::nullopt;
        f.bytes[field] = std::string(in.substr(0, *n));
        in.remove_prefix(*n);
        break;
      }
      case 1:
      case 5: {
        size_t n = (*key & 7) == 1 ? 8 : 4;
        if (in.size() < n) return std::nullopt;
        in.remove_prefix(n);
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return f;
}

class RpcContainerdTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.waitReady(30s)); }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- containerd log ---\n" << daemon_.log() << "\n";
  }

  CallOptions options(std::chrono::milliseconds deadline = 20s) const {
    CallOptions o;
    o.metadata = {{"containerd-namespace", "oakestra"}};
    o.deadline = deadline;
    return o;
  }

  testing::ContainerdDaemon daemon_;
  std::shared_ptr<Channel> channel_ = Channel::unixSocket(daemon_.socket());
};

TEST_F(RpcContainerdTest, Version) {
  // The socket may exist a moment before the daemon serves: the deadline covers that.
  std::string response;
  auto status =
      channel_->unary("/containerd.services.version.v1.Version/Version", "", response, options());
  ASSERT_TRUE(status.ok()) << status.message;
  // VersionResponse: field 1 (tag 0x0a), a varint length, the version string.
  ASSERT_GE(response.size(), 2u);
  ASSERT_EQ(static_cast<uint8_t>(response[0]), 0x0a);
  std::string_view rest(response);
  rest.remove_prefix(1);
  auto length = getVarint(rest);
  ASSERT_TRUE(length && *length <= rest.size());
  std::string version(rest.substr(0, *length));
  EXPECT_TRUE(version.starts_with("1.6")) << version;
  EXPECT_TRUE(channel_->waitForConnected(1s));
}

TEST_F(RpcContainerdTest, UnknownMethodIsUnimplemented) {
  std::string response;
  auto status =
      channel_->unary("/containerd.services.version.v1.Version/Nope", "", response, options());
  EXPECT_EQ(status.code, StatusCode::kUnimplemented) << status.message;
  EXPECT_NE(status.message.find("Nope"), std::string::npos) << status.message;
}

TEST_F(RpcContainerdTest, MissingContainerIsNotFound) {
  std::string request;
  putBytes(request, 1, "does-not-exist");  // GetContainerRequest.id
  std::string response;
  auto status = channel_->unary("/containerd.services.containers.v1.Containers/Get", request,
                                response, options());
  EXPECT_EQ(status.code, StatusCode::kNotFound) << status.message;
  EXPECT_NE(status.message.find("does-not-exist"), std::string::npos) << status.message;
}

TEST_F(RpcContainerdTest, ContentIngestAndReadBack) {
  // A blob of several MiB, written as the worker pulls layers: STAT, 1 MiB WRITEs each answered
  // with the new offset, COMMIT; then read back through a server stream.
  std::string blob(3 * (1 << 20) + 12345, '\0');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>((i * 31) ^ (i >> 12));
  std::string digest = oci::sha256Digest(blob);
  std::string ref = "rpc-test-" + std::to_string(::getpid());

  auto write = channel_->open("/containerd.services.content.v1.Content/Write", options(60s));
  std::string request;
  std::string response;
  putBytes(request, 2, ref);  // action STAT is 0, the default
  putInt(request, 3, blob.size());
  putBytes(request, 4, digest);
  ASSERT_TRUE(write->write(request)) << write->finish().message;
  ASSERT_TRUE(write->read(response)) << write->finish().message;
  auto stat = parse(response);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->ints[4], 0u);  // offset: nothing ingested yet

  size_t offset = 0;
  while (offset < blob.size()) {
    size_t n = std::min<size_t>(1 << 20, blob.size() - offset);
    request.clear();
    putInt(request, 1, 1);  // WRITE
    putBytes(request, 2, ref);
    putInt(request, 5, offset);
    putBytes(request, 6, std::string_view(blob).substr(offset, n));
    ASSERT_TRUE(write->write(request)) << write->finish().message;
    ASSERT_TRUE(write->read(response)) << write->finish().message;
    offset += n;
    auto written = parse(response);
    ASSERT_TRUE(written);
    ASSERT_EQ(written->ints[4], offset);
  }
  request.clear();
  putInt(request, 1, 2);  // COMMIT
  putBytes(request, 2, ref);
  putInt(request, 3, blob.size());
  putInt(request, 5, offset);
  putBytes(request, 4, digest);
  ASSERT_TRUE(write->write(request)) << write->finish().message;
  ASSERT_TRUE(write->read(response)) << write->finish().message;
  // The answer to COMMIT is the verdict; the worker ends such a stream by cancelling it.
  write->cancel();
  EXPECT_EQ(write->finish().code, StatusCode::kCancelled);

  auto read = channel_->open("/containerd.services.content.v1.Content/Read", options());
  request.clear();
  putBytes(request, 1, digest);  // ReadContentRequest.digest
  ASSERT_TRUE(read->write(request));
  ASSERT_TRUE(read->writesDone());
  std::string content;
  while (read->read(response)) {
    auto chunk = parse(response);
    ASSERT_TRUE(chunk);
    EXPECT_EQ(chunk->ints[1], content.size());  // offset
    content += chunk->bytes[2];
  }
  auto status = read->finish();
  ASSERT_TRUE(status.ok()) << status.message;
  EXPECT_EQ(content.size(), blob.size());
  EXPECT_TRUE(content == blob);
}

TEST_F(RpcContainerdTest, ReadOfMissingContentIsNotFound) {
  auto read = channel_->open("/containerd.services.content.v1.Content/Read", options());
  std::string request;
  putBytes(request, 1, "sha256:" + std::string(64, '0'));
  ASSERT_TRUE(read->write(request));
  ASSERT_TRUE(read->writesDone());
  std::string response;
  EXPECT_FALSE(read->read(response));
  EXPECT_EQ(read->finish().code, StatusCode::kNotFound);
}

}  // namespace
}  // namespace oak::rpc
