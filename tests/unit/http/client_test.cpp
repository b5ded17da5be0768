// The blocking client against peers that refuse or never answer.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/client.h"

namespace oak::http {
namespace {

// A bound TCP socket on 127.0.0.1, listening or not; nothing ever accepts on it.
class Peer {
 public:
  explicit Peer(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
          (!listening || ::listen(fd_, 4) == 0) &&
          ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    port_ = ntohs(a.sin_port);
  }
  ~Peer() { ::close(fd_); }
  bool ok() const { return ok_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  uint16_t port_ = 0;
};

TEST(Client, RefusedConnectionIsUnavailable) {
  Peer peer(/*listening=*/false);
  ASSERT_TRUE(peer.ok());
  auto c = Connection::open("127.0.0.1", peer.port(), std::chrono::seconds(5));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(c.error().message.find(std::to_string(peer.port())), std::string::npos)
      << c.error().message;
  auto r = fetch("127.0.0.1", peer.port(), ClientRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(Client, SilentPeerTimesOut) {
  Peer peer(/*listening=*/true);
  ASSERT_TRUE(peer.ok());
  auto begin = std::chrono::steady_clock::now();
  auto r = fetch("127.0.0.1", peer.port(), ClientRequest{Method::kGet, "/x", {}, ""},
                 std::chrono::milliseconds(300));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("GET /x"), std::string::npos) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10));
}

}  // namespace
}  // namespace oak::http
