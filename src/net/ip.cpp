#include "net/ip.h"

#include <ostream>

namespace oak::net {
namespace {

// Decimal number without sign or leading zeros ("0" itself is fine), at most `max`.
std::optional<uint32_t> parseDecimal(std::string_view text, uint32_t max) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > max) return std::nullopt;
  }
  return value;
}

std::optional<uint16_t> parseHexGroup(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  uint16_t value = 0;
  for (char c : text) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    value = static_cast<uint16_t>((value << 4) | digit);
  }
  return value;
}

using Groups = std::array<uint16_t, 8>;

// Parses colon-separated hex groups into out[0..]; the last one may be a dotted IPv4 address worth
// two groups. Returns the number of groups, or nullopt on an empty part or more than `max` groups.
std::optional<size_t> parseGroupList(std::string_view text, Groups& out, size_t max) {
  size_t n = 0;
  if (text.empty()) return n;
  while (true) {
    const size_t colon = text.find(':');
    const std::string_view part = text.substr(0, colon);
    if (colon == std::string_view::npos && part.find('.') != std::string_view::npos) {
      const auto v4 = Ipv4Address::parse(part);
      if (!v4 || n + 2 > max) return std::nullopt;
      out[n++] = static_cast<uint16_t>(v4->toUint32() >> 16);
      out[n++] = static_cast<uint16_t>(v4->toUint32());
      return n;
    }
    const auto group = parseHexGroup(part);
    if (!group || n >= max) return std::nullopt;
    out[n++] = *group;
    if (colon == std::string_view::npos) return n;
    text.remove_prefix(colon + 1);
  }
}

void appendDecimal(std::string& out, uint32_t value) {
  out += std::to_string(value);
}

void appendHex(std::string& out, uint16_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const int digit = (value >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      out += kDigits[digit];
      started = true;
    }
  }
}

// "<address>/<length>" with no host bits set; the same rules for both families.
template <class Prefix, class Address>
std::optional<Prefix> parsePrefix(std::string_view text, uint32_t max_length) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto length = parseDecimal(text.substr(slash + 1), max_length);
  const auto address = Address::parse(text.substr(0, slash));
  if (!length || !address) return std::nullopt;
  const Prefix prefix(*address, static_cast<int>(*length));
  if (prefix.address() != *address) return std::nullopt;
  return prefix;
}

}  // namespace

std::optional<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = text.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
    const auto octet = parseDecimal(text.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    value = (value << 8) | *octet;
    text.remove_prefix(i < 3 ? dot + 1 : text.size());
  }
  return Ipv4Address(value);
}

std::string Ipv4Address::toString() const {
  std::string out;
  out.reserve(15);
  for (uint8_t octet : octets()) {
    if (!out.empty()) out += '.';
    appendDecimal(out, octet);
  }
  return out;
}

std::optional<Ipv6Address> Ipv6Address::parse(std::string_view text) {
  Groups groups{};
  const size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    const auto n = parseGroupList(text, groups, 8);
    if (!n || *n != 8) return std::nullopt;
    return fromHextets(groups);
  }
  // "::" stands for at least one zero group, so at most seven are written around it.
  const std::string_view head = text.substr(0, gap);
  const std::string_view tail = text.substr(gap + 2);
  if (head.find('.') != std::string_view::npos) return std::nullopt;
  if (tail.find("::") != std::string_view::npos) return std::nullopt;
  Groups head_groups{};
  Groups tail_groups{};
  const auto nh = parseGroupList(head, head_groups, 7);
  if (!nh) return std::nullopt;
  const auto nt = parseGroupList(tail, tail_groups, 7 - *nh);
  if (!nt) return std::nullopt;
  for (size_t i = 0; i < *nh; ++i) groups[i] = head_groups[i];
  for (size_t i = 0; i < *nt; ++i) groups[8 - *nt + i] = tail_groups[i];
  return fromHextets(groups);
}

std::string Ipv6Address::toString() const {
  Groups h{};
  for (size_t i = 0; i < 8; ++i) h[i] = hextet(i);

  std::string out;
  out.reserve(39);
  const bool ipv4_mapped =
      h[0] == 0 && h[1] == 0 && h[2] == 0 && h[3] == 0 && h[4] == 0 && h[5] == 0xffff;
  if (ipv4_mapped) {
    out = "::ffff:";
    out += Ipv4Address((uint32_t{h[6]} << 16) | h[7]).toString();
    return out;
  }

  // Longest run of zero groups (first one on ties); a single zero group is never compressed.
  size_t best_start = 8;
  size_t best_len = 1;
  for (size_t i = 0; i < 8;) {
    if (h[i] != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && h[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }

  for (size_t i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    appendHex(out, h[i]);
  }
  return out;
}

std::optional<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
  return parsePrefix<Ipv4Prefix, Ipv4Address>(text, 32);
}

std::string Ipv4Prefix::toString() const {
  return address_.toString() + "/" + std::to_string(length_);
}

std::optional<Ipv6Prefix> Ipv6Prefix::parse(std::string_view text) {
  return parsePrefix<Ipv6Prefix, Ipv6Address>(text, 128);
}

std::string Ipv6Prefix::toString() const {
  return address_.toString() + "/" + std::to_string(length_);
}

std::ostream& operator<<(std::ostream& os, const Ipv4Address& a) {
  return os << a.toString();
}
std::ostream& operator<<(std::ostream& os, const Ipv6Address& a) {
  return os << a.toString();
}
std::ostream& operator<<(std::ostream& os, const Ipv4Prefix& p) {
  return os << p.toString();
}
std::ostream& operator<<(std::ostream& os, const Ipv6Prefix& p) {
  return os << p.toString();
}

}  // namespace oak::net
