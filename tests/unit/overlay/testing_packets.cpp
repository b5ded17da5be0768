#include "testing_packets.h"

#include <fmt/format.h>

#include <cstring>
#include <set>
#include <stdexcept>

namespace oak::overlay::testing {
namespace {

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

// Plain RFC 1071 sum, written again here so the tests do not trust the library's.
uint32_t sum16(std::span<const uint8_t> data, uint32_t sum = 0) {
  for (size_t i = 0; i < data.size(); i += 2) {
    const uint32_t hi = data[i];
    const uint32_t lo = i + 1 < data.size() ? data[i + 1] : 0;
    sum += (hi << 8) | lo;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return sum;
}
uint16_t finish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

struct Layout {
  bool v4 = false;
  size_t l4 = 0;  // transport offset
  uint8_t protocol = 0;
  bool fragment = false;
};

Layout layoutOf(std::span<const uint8_t> p) {
  Layout l;
  l.v4 = (p[0] >> 4) == 4;
  if (l.v4) {
    l.l4 = size_t(p[0] & 0x0f) * 4;
    l.protocol = p[9];
    l.fragment = (get16(p, 6) & 0x3fff) != 0;
    return l;
  }
  uint8_t next = p[6];
  size_t at = 40;
  while (next == 0 || next == 43 || next == 60 || next == 44) {
    if (next == 44) {
      l.fragment = (get16(p, at + 2) & 0xfff9) != 0;
      next = p[at];
      at += 8;
      continue;
    }
    const uint8_t following = p[at];
    at += (size_t(p[at + 1]) + 1) * 8;
    next = following;
  }
  l.l4 = at;
  l.protocol = next;
  return l;
}

size_t transportChecksumOffset(const Layout& l) {
  switch (l.protocol) {
    case 6:
      return l.l4 + 16;
    case 17:
      return l.l4 + 6;
    case 1:
    case 58:
      return l.l4 + 2;
    default:
      return 0;
  }
}

uint32_t pseudoHeader(std::span<const uint8_t> p, const Layout& l, size_t length) {
  uint32_t sum = l.v4 ? sum16(p.subspan(12, 8)) : sum16(p.subspan(8, 32));
  return sum + static_cast<uint32_t>(length >> 16) + static_cast<uint32_t>(length & 0xffff) +
         l.protocol;
}

// The transport checksum the packet should carry.
uint16_t transportChecksum(std::span<const uint8_t> p, const Layout& l) {
  Bytes segment(p.begin() + static_cast<ptrdiff_t>(l.l4), p.end());
  const size_t at = transportChecksumOffset(l) - l.l4;
  segment[at] = segment[at + 1] = 0;
  const bool pseudo = l.protocol != 1;
  return finish(sum16(segment, pseudo ? pseudoHeader(p, l, segment.size()) : 0));
}

void fixIpv4HeaderChecksum(Bytes& b) {
  const size_t ihl = size_t(b[0] & 0x0f) * 4;
  put16(b, 10, 0);
  put16(b, 10, finish(sum16(std::span<const uint8_t>(b).first(ihl))));
}

}  // namespace

net::Ipv4Address v4(const char* text) {
  return *net::Ipv4Address::parse(text);
}

net::Ipv6Address v6(const char* text) {
  return *net::Ipv6Address::parse(text);
}

Bytes fromHex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

Bytes buildPacket(const PacketSpec& s) {
  Bytes l4;
  if (s.protocol == 6) {
    l4.assign(20, 0);
    put16(l4, 0, s.src_port);
    put16(l4, 2, s.dst_port);
    l4[4] = 0x12;  // sequence number, some bytes that must survive rewriting
    l4[7] = 0x34;
    l4[12] = 5 << 4;
    l4[13] = s.tcp_flags;
    put16(l4, 14, 65000);
  } else if (s.protocol == 17) {
    l4.assign(8, 0);
    put16(l4, 0, s.src_port);
    put16(l4, 2, s.dst_port);
  } else {
    l4.assign(8, 0);
    l4[0] = s.icmp_type;
    put16(l4, 4, s.echo_id);
    put16(l4, 6, 7);  // sequence
  }
  for (size_t i = 0; i < s.payload; ++i) l4.push_back(static_cast<uint8_t>(i * 7 + 3));
  if (s.protocol == 17) put16(l4, 4, static_cast<uint16_t>(l4.size()));

  const bool is_v4 = std::holds_alternative<net::Ipv4Address>(s.src);
  Bytes p;
  if (is_v4) {
    const size_t ihl = 20 + s.ipv4_options;
    p.assign(ihl, 0);
    p[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
    p[1] = 0x10;
    put16(p, 2, static_cast<uint16_t>(ihl + l4.size()));
    put16(p, 4, 0x4242);
    put16(p, 6, s.dont_fragment ? 0x4000 : 0);
    p[8] = 64;
    p[9] = s.protocol;
    const auto src = std::get<net::Ipv4Address>(s.src).octets();
    const auto dst = std::get<net::Ipv4Address>(s.dst).octets();
    std::memcpy(&p[12], src.data(), 4);
    std::memcpy(&p[16], dst.data(), 4);
    for (size_t i = 20; i < ihl; ++i) p[i] = 1;  // NOP
  } else {
    p.assign(40, 0);
    p[0] = 0x60;
    p[1] = 0x0a;
    p[3] = 0x5c;  // some flow label
    p[7] = 63;
    std::memcpy(&p[8], std::get<net::Ipv6Address>(s.src).bytes().data(), 16);
    std::memcpy(&p[24], std::get<net::Ipv6Address>(s.dst).bytes().data(), 16);
    size_t next_at = 6;
    for (uint8_t type : s.ipv6_extensions) {
      p[next_at] = type;
      next_at = p.size();
      p.insert(p.end(), {0, 0, 1, 4, 0, 0, 0, 0});  // next (set later), length 0, PadN 4
    }
    p[next_at] = s.protocol;
    put16(p, 4, static_cast<uint16_t>(p.size() - 40 + l4.size()));
  }
  p.insert(p.end(), l4.begin(), l4.end());
  if (is_v4) fixIpv4HeaderChecksum(p);
  const Layout l = layoutOf(p);
  if (transportChecksumOffset(l) != 0 && !(s.protocol == 17 && s.udp_zero_checksum)) {
    put16(p, transportChecksumOffset(l), transportChecksum(p, l));
  }
  return p;
}

std::vector<Bytes> fragmentPacket(std::span<const uint8_t> packet, size_t chunk, uint32_t id) {
  if (chunk % 8 != 0) throw std::invalid_argument("chunk must be a multiple of 8");
  const bool is_v4 = (packet[0] >> 4) == 4;
  const size_t header = is_v4 ? size_t(packet[0] & 0x0f) * 4 : 40;
  const auto payload = packet.subspan(header);
  std::vector<Bytes> out;
  for (size_t offset = 0; offset < payload.size(); offset += chunk) {
    const size_t n = std::min(chunk, payload.size() - offset);
    const bool more = offset + n < payload.size();
    Bytes f(packet.begin(), packet.begin() + static_cast<ptrdiff_t>(header));
    if (is_v4) {
      put16(f, 2, static_cast<uint16_t>(header + n));
      put16(f, 4, static_cast<uint16_t>(id));
      put16(f, 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (offset / 8)));
      fixIpv4HeaderChecksum(f);
    } else {
      const uint8_t next = f[6];
      f[6] = 44;
      put16(f, 4, static_cast<uint16_t>(8 + n));
      f.insert(f.end(), {next, 0, 0, 0, 0, 0, 0, 0});
      put16(f, 42, static_cast<uint16_t>(offset | (more ? 1 : 0)));
      f[44] = static_cast<uint8_t>(id >> 24);
      f[45] = static_cast<uint8_t>(id >> 16);
      f[46] = static_cast<uint8_t>(id >> 8);
      f[47] = static_cast<uint8_t>(id);
    }
    f.insert(f.end(), payload.begin() + static_cast<ptrdiff_t>(offset),
             payload.begin() + static_cast<ptrdiff_t>(offset + n));
    out.push_back(std::move(f));
  }
  return out;
}

Bytes reassemble(const std::vector<Bytes>& fragments) {
  const Bytes& first = fragments.at(0);
  const bool is_v4 = (first[0] >> 4) == 4;
  const size_t header = is_v4 ? size_t(first[0] & 0x0f) * 4 : 48;
  Bytes out(first.begin(), first.begin() + static_cast<ptrdiff_t>(is_v4 ? header : 40));
  for (const Bytes& f : fragments)
    out.insert(out.end(), f.begin() + static_cast<ptrdiff_t>(header), f.end());
  if (is_v4) {
    put16(out, 2, static_cast<uint16_t>(out.size()));
    put16(out, 6, 0);
    fixIpv4HeaderChecksum(out);
  } else {
    out[6] = first[40];
    put16(out, 4, static_cast<uint16_t>(out.size() - 40));
  }
  return out;
}

void fixChecksums(Bytes& packet) {
  const Layout l = layoutOf(packet);
  if (l.v4) fixIpv4HeaderChecksum(packet);
  if (const size_t at = transportChecksumOffset(l); at != 0) {
    uint16_t sum = transportChecksum(packet, l);
    if (sum == 0 && l.protocol == 17) sum = 0xffff;
    put16(packet, at, sum);
  }
}

void makeChecksumPartial(Bytes& packet) {
  const Layout l = layoutOf(packet);
  uint32_t sum = pseudoHeader(packet, l, packet.size() - l.l4);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(packet, transportChecksumOffset(l), static_cast<uint16_t>(sum));
}

void completePartialChecksum(Bytes& packet) {
  const Layout l = layoutOf(packet);
  const uint16_t sum = finish(sum16(std::span<const uint8_t>(packet).subspan(l.l4)));
  put16(packet, transportChecksumOffset(l), sum == 0 ? 0xffff : sum);
}

::testing::AssertionResult checksumsValid(std::span<const uint8_t> p) {
  const Layout l = layoutOf(p);
  if (l.v4) {
    const size_t ihl = l.l4;
    if (finish(sum16(p.first(ihl))) != 0) {
      return ::testing::AssertionFailure() << "bad IPv4 header checksum";
    }
  }
  const size_t at = transportChecksumOffset(l);
  if (l.fragment || at == 0) return ::testing::AssertionSuccess();
  const uint16_t stored = get16(p, at);
  if (l.protocol == 17 && stored == 0) {
    if (l.v4) return ::testing::AssertionSuccess();  // "no checksum"
    return ::testing::AssertionFailure() << "IPv6 UDP without checksum";
  }
  // Summing the segment with its checksum gives all ones when it is right (either zero).
  const auto segment = p.subspan(l.l4);
  const uint32_t pseudo = l.protocol == 1 ? 0 : pseudoHeader(p, l, segment.size());
  if (finish(sum16(segment, pseudo)) != 0) {
    return ::testing::AssertionFailure() << fmt::format(
               "transport checksum {:04x}, expected {:04x}", stored, transportChecksum(p, l));
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult onlyAddressesChanged(std::span<const uint8_t> before,
                                                std::span<const uint8_t> after) {
  if (before.size() != after.size()) {
    return ::testing::AssertionFailure()
           << "length " << before.size() << " became " << after.size();
  }
  const Layout l = layoutOf(before);
  std::set<size_t> allowed;
  const size_t first = l.v4 ? 12 : 8;
  const size_t last = l.v4 ? 20 : 40;
  for (size_t i = first; i < last; ++i) allowed.insert(i);
  if (l.v4) allowed.insert({10, 11});
  if (const size_t at = transportChecksumOffset(l); at != 0 && at + 1 < before.size()) {
    allowed.insert({at, at + 1});
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] != after[i] && !allowed.contains(i)) {
      return ::testing::AssertionFailure()
             << fmt::format("byte {} changed from {:02x} to {:02x}", i, before[i], after[i]);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace oak::overlay::testing
