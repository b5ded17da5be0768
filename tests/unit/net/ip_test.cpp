#include "net/ip.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace oak::net {
namespace {

// The C library's view of the same text, as the reference the parsers must agree with.
std::optional<Ipv4Address> libcParse4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return std::nullopt;
  return Ipv4Address(ntohl(a.s_addr));
}

std::optional<Ipv6Address> libcParse6(const std::string& text) {
  Ipv6Address::Bytes bytes{};
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return std::nullopt;
  return Ipv6Address(bytes);
}

std::string libcFormat6(const Ipv6Address& a) {
  char buffer[INET6_ADDRSTRLEN] = {};
  EXPECT_NE(inet_ntop(AF_INET6, a.bytes().data(), buffer, sizeof buffer), nullptr);
  return buffer;
}

// glibc also prints the deprecated IPv4-compatible form (::a.b.c.d) in dotted notation, which
// RFC 5952 does not ask for; those addresses are left out of the comparison.
bool libcPrintsIpv4Compatible(const Ipv6Address& a) {
  for (size_t i = 0; i < 6; ++i) {
    if (a.hextet(i) != 0) return false;
  }
  return a.hextet(6) != 0;
}

TEST(Ipv4AddressTest, ParsesDottedQuads) {
  const std::vector<std::pair<std::string, uint32_t>> cases = {
      {"0.0.0.0", 0},
      {"255.255.255.255", 0xffffffff},
      {"10.30.0.1", 0x0a1e0001},
      {"10.18.255.192", 0x0a12ffc0},
      {"1.2.3.4", 0x01020304},
      {"192.168.100.0", 0xc0a86400},
  };
  for (const auto& [text, value] : cases) {
    const auto a = Ipv4Address::parse(text);
    ASSERT_TRUE(a.has_value()) << text;
    EXPECT_EQ(a->toUint32(), value) << text;
    EXPECT_EQ(a->toString(), text);
    EXPECT_EQ(a, libcParse4(text)) << text;
  }
}

TEST(Ipv4AddressTest, RejectsEverythingElse) {
  const std::vector<std::string> cases = {
      "",           "1.2.3",     "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "01.2.3.4",    "1.2.3.04",
      "1.2.3.00",   "+1.2.3.4",  "1.+2.3.4",  "1..3.4",    ".1.2.3",    "1.2.3.4.",    " 1.2.3.4",
      "1.2.3.4 ",   "1.2.3.a",   "0x1.2.3.4", "1.2.3.-4",  "1.2.3.4/8", "1.2.3.4:80",  "1000.1.1.1",
      "4294967295", "1.2.3.4\n", "...",       "1.2.3. 4",  "::1",       "10.30.300.1", "10.30.a.b",
  };
  for (const auto& text : cases) {
    EXPECT_FALSE(Ipv4Address::parse(text).has_value()) << text;
    EXPECT_FALSE(libcParse4(text).has_value()) << text;
  }
}

TEST(Ipv4AddressTest, OctetsAndArithmetic) {
  const auto a = Ipv4Address::fromOctets(10, 30, 0, 255);
  EXPECT_EQ(a.octets(), (std::array<uint8_t, 4>{10, 30, 0, 255}));
  EXPECT_EQ((a + 1).toString(), "10.30.1.0");
  EXPECT_EQ((a + 64).toString(), "10.30.1.63");
  EXPECT_EQ(Ipv4Address::fromOctets(10, 30, 1, 0) - a, 1u);
  EXPECT_EQ(Ipv4Address::fromOctets(10, 19, 0, 0) - Ipv4Address::fromOctets(10, 18, 0, 0), 65536u);
  EXPECT_EQ((Ipv4Address(0xffffffff) + 1).toString(), "0.0.0.0");
}

TEST(Ipv4AddressTest, OrdersNumerically) {
  std::vector<Ipv4Address> v = {*Ipv4Address::parse("10.30.1.0"),
                                *Ipv4Address::parse("9.255.255.255"),
                                *Ipv4Address::parse("10.30.0.253")};
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v[0].toString(), "9.255.255.255");
  EXPECT_EQ(v[1].toString(), "10.30.0.253");
  EXPECT_EQ(v[2].toString(), "10.30.1.0");
  EXPECT_NE(v[0], v[1]);
  EXPECT_EQ(v[2], Ipv4Address::fromOctets(10, 30, 1, 0));
}

TEST(Ipv6AddressTest, ParsesAndFormatsCanonically) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fdff::", "fdff::"},
      {"FDFF:0000:0000:0000:0000:0002:0000:0101", "fdff::2:0:101"},
      {"fdff:0:0:0:0:0:1:101", "fdff::1:101"},
      {"fdff:0800::", "fdff:800::"},
      {"fdff:800:0:0:0:0:0:1", "fdff:800::1"},
      {"fc00:0:0:0:0:0:0:100", "fc00::100"},
      {"fc00::7fff:ffff:ffff:ff00", "fc00::7fff:ffff:ffff:ff00"},
      {"fc00:0:0:0:8000:0:0:0", "fc00::8000:0:0:0"},
      {"fc00:0:700:1:ff05:403:2ff:ff00", "fc00:0:700:1:ff05:403:2ff:ff00"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
      {"2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
      {"2001:db8::aBcD", "2001:db8::abcd"},
      {"::", "::"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"0001:0002::", "1:2::"},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
      {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
      {"::FFFF:0102:0304", "::ffff:1.2.3.4"},
      {"0:0:0:0:0:ffff:10.30.0.1", "::ffff:10.30.0.1"},
      {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
      {"::1.2.3.4", "::102:304"},
      {"fdff:20ff::1", "fdff:20ff::1"},
      {"fcef::dead:beef", "fcef::dead:beef"},
      {"fdfd:ffff:ffff:ffff:ffff:ffff:ffff:ff00", "fdfd:ffff:ffff:ffff:ffff:ffff:ffff:ff00"},
  };
  for (const auto& [text, canonical] : cases) {
    const auto a = Ipv6Address::parse(text);
    ASSERT_TRUE(a.has_value()) << text;
    EXPECT_EQ(a->toString(), canonical) << text;
    EXPECT_EQ(a, libcParse6(text)) << text;
    EXPECT_EQ(Ipv6Address::parse(canonical), a) << canonical;
    if (!libcPrintsIpv4Compatible(*a)) {
      EXPECT_EQ(libcFormat6(*a), canonical) << text;
    }
  }
}

TEST(Ipv6AddressTest, RejectsMalformedText) {
  const std::vector<std::string> cases = {
      "",
      ":",
      ":::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "::1::",
      ":1::2",
      "1::2:",
      "1:2:3:4:5:6:7:8::",
      "::1:2:3:4:5:6:7:8",
      "1:2:3:4::5:6:7:8",
      "12345::",
      "00000::1",
      "g::",
      "fe80::1%eth0",
      "fe80::1%1",
      "[::1]",
      "::1/128",
      "1.2.3.4::",
      "1.2.3.4",
      "::1.2.3.4:1",
      "::1.2.3",
      "::01.2.3.4",
      "::256.1.1.1",
      "1:2:3:4:5:6:7:1.2.3.4",
      "::ffff:1.2.3.4.5",
      " ::1",
      "::1 ",
      "1:2:3:4:5:6:7:8:",
      ":1:2:3:4:5:6:7:8",
      "-1::",
      "+1::",
      "0x1::",
      "1:::2",
  };
  for (const auto& text : cases) {
    EXPECT_FALSE(Ipv6Address::parse(text).has_value()) << text;
    EXPECT_FALSE(libcParse6(text).has_value()) << text;
  }
}

TEST(Ipv6AddressTest, FormatsLikeInetNtopAndRoundTrips) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::array<uint16_t, 8> groups{};
    // Mostly zeros, so that runs of every length and position occur.
    for (auto& g : groups) g = (rng() % 3 == 0) ? static_cast<uint16_t>(rng()) : 0;
    if (rng() % 8 == 0) groups = {0, 0, 0, 0, 0, 0xffff, static_cast<uint16_t>(rng()), 0};
    const auto a = Ipv6Address::fromHextets(groups);
    const std::string text = a.toString();
    if (!libcPrintsIpv4Compatible(a)) {
      ASSERT_EQ(text, libcFormat6(a));
    }
    ASSERT_EQ(Ipv6Address::parse(text), a) << text;
    ASSERT_EQ(Ipv6Address::parse(libcFormat6(a)), a) << libcFormat6(a);
  }
}

TEST(Ipv6AddressTest, ArithmeticIs128Bit) {
  const auto a = *Ipv6Address::parse("fdff::");
  EXPECT_EQ((a + 0x10000).toString(), "fdff::1:0");
  EXPECT_EQ((*Ipv6Address::parse("::ffff:ffff:ffff:ffff") + 1).toString(), "0:0:0:1::");
  EXPECT_EQ((*Ipv6Address::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") + 1).toString(), "::");
  EXPECT_EQ(*Ipv6Address::parse("fc00::100") - *Ipv6Address::parse("fc00::"), Uint128{256});
  EXPECT_EQ(*Ipv6Address::parse("fdff:800::") - *Ipv6Address::parse("fdff::"), Uint128{1} << 107);
  const Uint128 big = *Ipv6Address::parse("ffff::") - *Ipv6Address::parse("::");
  EXPECT_EQ(big, Uint128{0xffff} << 112);
  EXPECT_EQ(Ipv6Address::fromUint128(big).toString(), "ffff::");
  EXPECT_EQ(a.hextet(0), 0xfdff);
  EXPECT_EQ(Ipv6Address::fromUint128(a.toUint128()), a);
}

TEST(Ipv6AddressTest, OrdersNumericallyAndHashes) {
  const auto low = *Ipv6Address::parse("fc00::ffff");
  const auto mid = *Ipv6Address::parse("fc00::1:0");
  const auto high = *Ipv6Address::parse("fdff::");
  EXPECT_LT(low, mid);
  EXPECT_LT(mid, high);
  EXPECT_GT(high, low);
  std::unordered_set<Ipv6Address> set = {low, mid, high, *Ipv6Address::parse("fc00:0::ffff")};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.contains(*Ipv6Address::parse("fdff:0::0")));
  std::unordered_set<Ipv4Address> set4 = {Ipv4Address(1), Ipv4Address(2), Ipv4Address(1)};
  EXPECT_EQ(set4.size(), 2u);
}

TEST(Ipv4PrefixTest, ParsesAndMeasures) {
  const auto p = Ipv4Prefix::parse("10.30.0.0/16");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->length(), 16);
  EXPECT_EQ(p->first().toString(), "10.30.0.0");
  EXPECT_EQ(p->last().toString(), "10.30.255.255");
  EXPECT_EQ(p->size(), 65536u);
  EXPECT_TRUE(p->contains(*Ipv4Address::parse("10.30.5.5")));
  EXPECT_FALSE(p->contains(*Ipv4Address::parse("10.31.0.0")));
  EXPECT_FALSE(p->contains(*Ipv4Address::parse("10.29.255.255")));
  EXPECT_EQ(p->toString(), "10.30.0.0/16");

  const auto all = Ipv4Prefix::parse("0.0.0.0/0");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), uint64_t{1} << 32);
  EXPECT_TRUE(all->contains(*Ipv4Address::parse("255.255.255.255")));
  const auto host = Ipv4Prefix::parse("10.19.1.254/32");
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->size(), 1u);
  EXPECT_EQ(host->first(), host->last());
  EXPECT_EQ(Ipv4Prefix::parse("10.18.0.64/26")->last().toString(), "10.18.0.127");
}

TEST(Ipv4PrefixTest, RejectsMalformedTextAndHostBits) {
  for (const std::string text :
       {"10.30.0.1/16", "10.30.0.0/33", "/16", "10.30.0.0/", "10.30.0.0/016", "10.30.0.0/-1",
        "10.30.0.0", "10.30.0.0/16/1", "10.30.0/16", "10.30.0.0/1a", "10.30.0.0 /16"}) {
    EXPECT_FALSE(Ipv4Prefix::parse(text).has_value()) << text;
  }
  const Ipv4Prefix masked(Ipv4Address::fromOctets(10, 30, 7, 9), 16);
  EXPECT_EQ(masked.toString(), "10.30.0.0/16");
}

TEST(Ipv6PrefixTest, ParsesAndMeasures) {
  const auto rr = Ipv6Prefix::parse("fdff:2000::/21");
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->length(), 21);
  EXPECT_EQ(rr->first().toString(), "fdff:2000::");
  EXPECT_EQ(rr->last().toString(), "fdff:27ff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(rr->size(), Uint128{1} << 107);
  EXPECT_TRUE(rr->contains(*Ipv6Address::parse("fdff:20ff::1")));
  EXPECT_TRUE(rr->contains(*Ipv6Address::parse("fdff:2100::1")));
  EXPECT_FALSE(rr->contains(*Ipv6Address::parse("fdff:2800::")));
  EXPECT_FALSE(rr->contains(*Ipv6Address::parse("fdff:1fff::")));
  EXPECT_EQ(rr->toString(), "fdff:2000::/21");

  const auto overlay = Ipv6Prefix::parse("fc00::/7");
  ASSERT_TRUE(overlay.has_value());
  EXPECT_TRUE(overlay->contains(*Ipv6Address::parse("fdff::1")));
  EXPECT_FALSE(overlay->contains(*Ipv6Address::parse("fe00::")));
  EXPECT_EQ(Ipv6Prefix::parse("::/0")->size(), ~Uint128{0});
  EXPECT_EQ(Ipv6Prefix::parse("fc00::100/120")->last().toString(), "fc00::1ff");
  EXPECT_EQ(Ipv6Prefix::parse("fcef::dead:beef/128")->size(), Uint128{1});
}

TEST(Ipv6PrefixTest, RejectsMalformedTextAndHostBits) {
  for (const std::string text : {"fdff::1/16", "fdff::/129", "fdff::", "fdff::/", "/16",
                                 "fdff::/016", "fdff::%1/16", "fdff::/16/1", "fc00::/7 "}) {
    EXPECT_FALSE(Ipv6Prefix::parse(text).has_value()) << text;
  }
  const Ipv6Prefix masked(*Ipv6Address::parse("fdff:27ff::1"), 21);
  EXPECT_EQ(masked.toString(), "fdff:2000::/21");
}

}  // namespace
}  // namespace oak::net
