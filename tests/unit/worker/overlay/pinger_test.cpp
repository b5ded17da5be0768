// ICMP echo for the RTT of peer workers, against the kernel's own echo replies on loopback.
#include "worker/overlay/pinger.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <vector>

namespace oak::worker {
namespace {

struct Reply {
  overlay::IpAddress from;
  uint64_t sent_us = 0;
};

// The replies that arrive within `ms` (stops at the first batch).
std::vector<Reply> repliesWithin(Pinger& pinger, int ms) {
  std::vector<Reply> out;
  pollfd p{pinger.fd(), POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return out;
  pinger.receive([&](const overlay::IpAddress& from, uint64_t sent_us) {
    out.push_back({from, sent_us});
  });
  return out;
}

TEST(PingerTest, AnEchoReplyCarriesBackItsSenderAndSendTimeInBothFamilies) {
  ASSERT_EQ(::geteuid(), 0u) << "raw ICMP sockets need root (CI runs as root)";
  for (bool v6 : {false, true}) {
    auto pinger = Pinger::open(v6, 0x4242);
    ASSERT_TRUE(pinger) << pinger.error().message;
    const overlay::IpAddress loopback = v6 ? overlay::IpAddress(*net::Ipv6Address::parse("::1"))
                                           : overlay::IpAddress(net::Ipv4Address(0x7f000001));
    pinger->send(loopback, 7, 123456789);
    std::vector<Reply> replies;
    for (int i = 0; i < 50 && replies.empty(); ++i) replies = repliesWithin(*pinger, 100);
    ASSERT_EQ(replies.size(), 1u) << (v6 ? "IPv6" : "IPv4");
    EXPECT_EQ(replies[0].from, loopback);
    EXPECT_EQ(replies[0].sent_us, 123456789u);
  }
}

TEST(PingerTest, RepliesToAnotherIdentifierAreIgnored) {
  ASSERT_EQ(::geteuid(), 0u) << "raw ICMP sockets need root (CI runs as root)";
  auto mine = Pinger::open(false, 1);
  auto other = Pinger::open(false, 2);
  ASSERT_TRUE(mine && other);
  other->send(net::Ipv4Address(0x7f000001), 1, 42);
  std::vector<Reply> theirs;
  for (int i = 0; i < 50 && theirs.empty(); ++i) theirs = repliesWithin(*other, 100);
  ASSERT_EQ(theirs.size(), 1u);
  // The same reply reached our raw socket too (the kernel copies ICMP to every one): ignored.
  EXPECT_TRUE(repliesWithin(*mine, 100).empty());
}

}  // namespace
}  // namespace oak::worker
