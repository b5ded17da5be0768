// Solicited-node groups and the /proc/net/igmp6 format.
#include "worker/net/multicast.h"

#include <gtest/gtest.h>

namespace oak::worker {
namespace {

net::Ipv6Address v6(const char* text) {
  return *net::Ipv6Address::parse(text);
}

// As the kernel prints it: index, interface, group, users, flags, timer.
constexpr char kIgmp6[] =
    "1    lo              ff020000000000000000000000000001     1 0000000C 0\n"
    "2    eth0            ff0200000000000000000001ff000102     1 00000004 0\n"
    "2    eth0            ff0200000000000000000001ff2391ce     1 00000004 0\n"
    "3    oak0            ff0200000000000000000001ff000001     1 00000004 0\n";

TEST(MulticastTest, TheGroupIsTheLastThreeBytesAfterTheSolicitedNodePrefix) {
  EXPECT_EQ(solicitedNodeGroup(v6("fc00::102")), "ff0200000000000000000001ff000102");
  EXPECT_EQ(solicitedNodeGroup(v6("fdff:2000::ab:cdef")), "ff0200000000000000000001ffabcdef");
}

TEST(MulticastTest, Igmp6ListsAGroupOnlyOnItsInterface) {
  EXPECT_TRUE(igmp6Lists(kIgmp6, "eth0", solicitedNodeGroup(v6("fc00::102"))));
  EXPECT_FALSE(igmp6Lists(kIgmp6, "eth0", solicitedNodeGroup(v6("fc00::1"))))
      << "joined on oak0, not on eth0";
  EXPECT_TRUE(igmp6Lists(kIgmp6, "oak0", solicitedNodeGroup(v6("fc00::1"))));
  EXPECT_FALSE(igmp6Lists(kIgmp6, "eth1", solicitedNodeGroup(v6("fc00::102"))));
  EXPECT_FALSE(igmp6Lists("", "eth0", solicitedNodeGroup(v6("fc00::102"))));
  EXPECT_FALSE(igmp6Lists("2 eth0\n", "eth0", solicitedNodeGroup(v6("fc00::102"))));
}

}  // namespace
}  // namespace oak::worker
