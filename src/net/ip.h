#pragma once
// IPv4/IPv6 addresses and prefixes of the overlay. Parsing is strict (the text comes from users
// and peers); formatting is canonical (peers compare addresses as strings).

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace oak::net {

__extension__ using Uint128 = unsigned __int128;

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(uint32_t host_order) : value_(host_order) {}
  static constexpr Ipv4Address fromOctets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Address((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
  }

  // Dotted quad of exactly four decimal octets 0..255; like inet_pton, leading zeros ("01") are
  // rejected. Nothing else (no whitespace, no '+', no port) is accepted.
  static std::optional<Ipv4Address> parse(std::string_view text);

  constexpr uint32_t toUint32() const { return value_; }
  constexpr std::array<uint8_t, 4> octets() const {
    return {static_cast<uint8_t>(value_ >> 24), static_cast<uint8_t>(value_ >> 16),
            static_cast<uint8_t>(value_ >> 8), static_cast<uint8_t>(value_)};
  }
  std::string toString() const;

  // Arithmetic modulo 2^32: `a + n` is the n-th address after a; `b - a` is the distance a to b.
  constexpr Ipv4Address operator+(uint32_t n) const { return Ipv4Address(value_ + n); }
  friend constexpr uint32_t operator-(Ipv4Address b, Ipv4Address a) { return b.value_ - a.value_; }

  friend constexpr auto operator<=>(Ipv4Address, Ipv4Address) = default;

 private:
  uint32_t value_ = 0;
};

class Ipv6Address {
 public:
  using Bytes = std::array<uint8_t, 16>;

  constexpr Ipv6Address() = default;
  constexpr explicit Ipv6Address(const Bytes& network_order) : bytes_(network_order) {}
  static constexpr Ipv6Address fromHextets(const std::array<uint16_t, 8>& groups) {
    Bytes b{};
    for (size_t i = 0; i < 8; ++i) {
      b[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
      b[2 * i + 1] = static_cast<uint8_t>(groups[i]);
    }
    return Ipv6Address(b);
  }
  static constexpr Ipv6Address fromUint128(Uint128 v) {
    Bytes b{};
    for (size_t i = 16; i-- > 0; v >>= 8) b[i] = static_cast<uint8_t>(v);
    return Ipv6Address(b);
  }

  // Every RFC 4291 text form: eight groups of 1..4 hex digits (any case), one "::" standing for
  // at least one zero group, and an optional dotted IPv4 tail ("::ffff:1.2.3.4"). Zone ids
  // ("%eth0"), prefix lengths and brackets are rejected.
  static std::optional<Ipv6Address> parse(std::string_view text);

  constexpr const Bytes& bytes() const { return bytes_; }
  constexpr uint16_t hextet(size_t i) const {
    return static_cast<uint16_t>((bytes_[2 * i] << 8) | bytes_[2 * i + 1]);
  }
  constexpr Uint128 toUint128() const {
    Uint128 v = 0;
    for (uint8_t byte : bytes_) v = (v << 8) | byte;
    return v;
  }
  // RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups (the first
  // on ties) written as "::", and IPv4-mapped addresses as "::ffff:a.b.c.d".
  std::string toString() const;

  // Arithmetic modulo 2^128, as for Ipv4Address.
  constexpr Ipv6Address operator+(Uint128 n) const { return fromUint128(toUint128() + n); }
  friend constexpr Uint128 operator-(const Ipv6Address& b, const Ipv6Address& a) {
    return b.toUint128() - a.toUint128();
  }

  friend constexpr auto operator<=>(const Ipv6Address&, const Ipv6Address&) = default;

 private:
  Bytes bytes_{};
};

// A network prefix. Host bits of `address` are always zero: the constructor clears them, and
// `parse` rejects text that has any ("10.30.0.1/16"), because such text is usually a typo.
class Ipv4Prefix {
 public:
  constexpr Ipv4Prefix(Ipv4Address address, int length)
      : length_(length < 0    ? 0
                : length > 32 ? 32
                              : length),
        address_(Ipv4Address(address.toUint32() & mask())) {}
  static std::optional<Ipv4Prefix> parse(std::string_view text);  // "10.30.0.0/16"

  constexpr Ipv4Address address() const { return address_; }
  constexpr int length() const { return length_; }
  constexpr bool contains(Ipv4Address a) const {
    return (a.toUint32() & mask()) == address_.toUint32();
  }
  constexpr Ipv4Address first() const { return address_; }
  constexpr Ipv4Address last() const { return Ipv4Address(address_.toUint32() | ~mask()); }
  constexpr uint64_t size() const { return uint64_t{1} << (32 - length_); }
  std::string toString() const;

  friend constexpr bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;

 private:
  constexpr uint32_t mask() const { return length_ == 0 ? 0 : ~uint32_t{0} << (32 - length_); }

  int length_;
  Ipv4Address address_;
};

class Ipv6Prefix {
 public:
  constexpr Ipv6Prefix(const Ipv6Address& address, int length)
      : length_(length < 0     ? 0
                : length > 128 ? 128
                               : length),
        address_(Ipv6Address::fromUint128(address.toUint128() & mask())) {}
  static std::optional<Ipv6Prefix> parse(std::string_view text);  // "fdff:2000::/21"

  constexpr const Ipv6Address& address() const { return address_; }
  constexpr int length() const { return length_; }
  constexpr bool contains(const Ipv6Address& a) const {
    return (a.toUint128() & mask()) == address_.toUint128();
  }
  constexpr Ipv6Address first() const { return address_; }
  constexpr Ipv6Address last() const {
    return Ipv6Address::fromUint128(address_.toUint128() | ~mask());
  }
  // Number of addresses; 2^128 (for /0) does not fit and saturates to 2^128 - 1.
  constexpr Uint128 size() const {
    return length_ == 0 ? ~Uint128{0} : Uint128{1} << (128 - length_);
  }
  std::string toString() const;

  friend constexpr bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;

 private:
  constexpr Uint128 mask() const { return length_ == 0 ? 0 : ~Uint128{0} << (128 - length_); }

  int length_;
  Ipv6Address address_;
};

// Text form, for logs and test failure messages.
std::ostream& operator<<(std::ostream& os, const Ipv4Address& a);
std::ostream& operator<<(std::ostream& os, const Ipv6Address& a);
std::ostream& operator<<(std::ostream& os, const Ipv4Prefix& p);
std::ostream& operator<<(std::ostream& os, const Ipv6Prefix& p);

}  // namespace oak::net

template <>
struct std::hash<oak::net::Ipv4Address> {
  size_t operator()(oak::net::Ipv4Address a) const noexcept {
    return std::hash<uint32_t>{}(a.toUint32());
  }
};

template <>
struct std::hash<oak::net::Ipv6Address> {
  size_t operator()(const oak::net::Ipv6Address& a) const noexcept {
    const oak::net::Uint128 v = a.toUint128();
    return std::hash<uint64_t>{}(static_cast<uint64_t>(v) ^
                                 (static_cast<uint64_t>(v >> 64) * 0x9e3779b97f4a7c15ULL));
  }
};
