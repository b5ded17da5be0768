#include "overlay/kernel_rules.h"

#include <fmt/format.h>

namespace oak::overlay {

namespace {

std::string chainName(net::Ipv4Address a) {
  return fmt::format("a_{:08x}", a.toUint32());
}

std::string chainName(const net::Ipv6Address& a) {
  std::string name = "a_";
  for (uint8_t b : a.bytes()) name += fmt::format("{:02x}", b);
  return name;
}

const char* family(net::Ipv4Address) {
  return "ip";
}
const char* family(const net::Ipv6Address&) {
  return "ip6";
}
const char* suffix(net::Ipv4Address) {
  return "4";
}
const char* suffix(const net::Ipv6Address&) {
  return "6";
}

template <typename Address>
std::string dnatRule(const Address& sample, const std::vector<Address>& targets) {
  if (targets.size() == 1) {
    return fmt::format("dnat {} to {}", family(sample), targets.front().toString());
  }
  std::string map;
  for (size_t k = 0; k < targets.size(); ++k) {
    map += fmt::format("{}{} : {}", k ? ", " : "", k, targets[k].toString());
  }
  return fmt::format("dnat {} to numgen inc mod {} map {{ {} }}", family(sample), targets.size(),
                     map);
}

template <typename Address>
void diffDnat(const std::string& table, const std::map<Address, std::vector<Address>>& before,
              const std::map<Address, std::vector<Address>>& after, std::string& out) {
  for (const auto& [address, targets] : before) {
    if (after.count(address)) continue;
    const std::string a = address.toString();
    out += fmt::format("delete element inet {} dnat{} {{ {} }}\n", table, suffix(address), a);
    out += fmt::format("delete element inet {} known{} {{ {} }}\n", table, suffix(address), a);
    out += fmt::format("delete chain inet {} {}\n", table, chainName(address));
  }
  for (const auto& [address, targets] : after) {
    auto old = before.find(address);
    if (old != before.end() && old->second == targets) continue;
    const std::string chain = chainName(address);
    if (old == before.end()) {
      out += fmt::format("add chain inet {} {}\n", table, chain);
    } else {
      out += fmt::format("flush chain inet {} {}\n", table, chain);
    }
    out += fmt::format("add rule inet {} {} {}\n", table, chain, dnatRule(address, targets));
    if (old == before.end()) {
      const std::string a = address.toString();
      out += fmt::format("add element inet {} dnat{} {{ {} : goto {} }}\n", table, suffix(address),
                         a, chain);
      out += fmt::format("add element inet {} known{} {{ {} }}\n", table, suffix(address), a);
    }
  }
}

template <typename Address>
void diffSnat(const std::string& table, const std::map<Address, Address>& before,
              const std::map<Address, Address>& after, std::string& out) {
  for (const auto& [nsip, instance_ip] : before) {
    auto now = after.find(nsip);
    if (now != after.end() && now->second == instance_ip) continue;
    out += fmt::format("delete element inet {} snat{} {{ {} }}\n", table, suffix(nsip),
                       nsip.toString());
  }
  for (const auto& [nsip, instance_ip] : after) {
    auto old = before.find(nsip);
    if (old != before.end() && old->second == instance_ip) continue;
    out += fmt::format("add element inet {} snat{} {{ {} : {} }}\n", table, suffix(nsip),
                       nsip.toString(), instance_ip.toString());
  }
}

}  // namespace

std::string kernelTableScript(const KernelRulesConfig& c) {
  // `add` then `delete` makes the delete succeed whether or not a table was left behind.
  return fmt::format(
      R"(add table inet {t}
delete table inet {t}
table inet {t} {{
  set known4 {{ type ipv4_addr; }}
  set known6 {{ type ipv6_addr; }}
  map dnat4 {{ type ipv4_addr : verdict; }}
  map dnat6 {{ type ipv6_addr : verdict; }}
  map snat4 {{ type ipv4_addr : ipv4_addr; }}
  map snat6 {{ type ipv6_addr : ipv6_addr; }}
  counter tunnel_garbage {{ }}
  counter tunnel_dropped {{ }}
  counter host_dropped {{ }}
  chain misses {{
    type filter hook prerouting priority raw; policy accept;
    iifname "{vx}" return
    ip daddr {s4r} ip daddr != @known4 notrack
    ip6 daddr {s6r} ip6 daddr != @known6 notrack
  }}
  chain services {{
    type nat hook prerouting priority dstnat; policy accept;
    iifname "{vx}" return
    ip daddr vmap @dnat4
    ip6 daddr vmap @dnat6
  }}
  chain senders {{
    type nat hook postrouting priority srcnat - 10; policy accept;
    ct status dnat snat ip to ip saddr map @snat4
    ct status dnat snat ip6 to ip6 saddr map @snat6
  }}
  chain tunnel_port {{
    type filter hook input priority filter; policy accept;
    udp dport {port} udp length < {min_length} counter name "tunnel_garbage" drop
    udp dport {port} @th,64,8 & 0x08 != 0x08 counter name "tunnel_garbage" drop
    udp dport {port} @th,96,24 != {vni} counter name "tunnel_garbage" drop
  }}
  chain tunnel_in {{
    type filter hook forward priority filter; policy accept;
    iifname != "{vx}" return
    ip saddr {o4} ip daddr {sub4} accept
    ip6 saddr {o6} ip6 daddr {sub6} accept
    counter name "tunnel_dropped" drop
  }}
  chain tunnel_local {{
    type filter hook input priority filter; policy accept;
    iifname != "{vx}" return
    meta l4proto {{ icmp, ipv6-icmp }} accept
    counter name "host_dropped" drop
  }}
}}
)",
      fmt::arg("t", c.table), fmt::arg("vx", c.vxlan), fmt::arg("s4r", "10.30.0.0/16"),
      fmt::arg("s6r", "fdff::/16"), fmt::arg("o4", "10.16.0.0/12"), fmt::arg("o6", "fc00::/7"),
      fmt::arg("sub4", c.subnet4.toString()), fmt::arg("sub6", c.subnet6.toString()),
      fmt::arg("port", c.port), fmt::arg("vni", c.vni),
      // UDP (8) + VXLAN (8) + Ethernet (14) + the smallest IPv4 header (20) headers
      fmt::arg("min_length", 50));
}

std::string kernelDiffScript(const KernelRulesConfig& config, const KernelPlan& before,
                             const KernelPlan& after) {
  std::string out;
  // Map entries go before the chains they point to are deleted, and after new ones exist.
  diffDnat(config.table, before.dnat4, after.dnat4, out);
  diffDnat(config.table, before.dnat6, after.dnat6, out);
  diffSnat(config.table, before.snat4, after.snat4, out);
  diffSnat(config.table, before.snat6, after.snat6, out);
  return out;
}

}  // namespace oak::overlay
