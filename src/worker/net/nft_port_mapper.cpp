#include "worker/net/nft_port_mapper.h"

#include <fmt/format.h>

#include <memory>

#include "net/address_plan.h"
#include "worker/net/nft.h"

namespace oak::worker {
namespace {

bool isMissing(const Error& error) {
  return error.message.find("No such file or directory") != std::string::npos;
}

std::string join(const std::vector<std::string>& lines) {
  std::string script;
  for (const std::string& line : lines) script += line + "\n";
  return script;
}

}  // namespace

NftPortMapper::NftPortMapper(NftOptions options) : options_(std::move(options)) {}

Status NftPortMapper::validateOptions() const {
  auto valid = [](const std::string& name, bool allow_dot_dash) {
    if (name.empty() || name.size() > 15) return false;
    for (char c : name) {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '_' && !(allow_dot_dash && (c == '.' || c == '-'))) return false;
    }
    return true;
  };
  // The names end up in nftables script text, so they are held to plain characters.
  if (!valid(options_.table, false) || !valid(options_.bridge, true) ||
      !valid(options_.tun, true)) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("nftables options: invalid name in table '{}', bridge '{}', tun "
                                 "'{}'",
                                 options_.table, options_.bridge, options_.tun));
  }
  return {};
}

std::string NftPortMapper::rulesetScript(const net::Ipv4Prefix& subnet4,
                                         const net::Ipv6Prefix& subnet6) const {
  // fib daddr type local: only traffic to this host's own addresses is mapped; overlay traffic
  // to instances keeps its destination even when it uses a mapped port number.
  return fmt::format(
      R"(table inet {table} {{
  map dnat4 {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
  map dnat6 {{ type inet_proto . inet_service : ipv6_addr . inet_service; }}
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat ip to meta l4proto . th dport map @dnat4
    fib daddr type local dnat ip6 to meta l4proto . th dport map @dnat6
  }}
  chain output {{
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local dnat ip to meta l4proto . th dport map @dnat4
    ip6 daddr != ::1 fib daddr type local dnat ip6 to meta l4proto . th dport map @dnat6
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {s4} ip daddr != {o4} oifname != "{bridge}" masquerade
    ip6 saddr {s6} ip6 daddr != {o6} oifname != "{bridge}" masquerade
    oifname "{bridge}" ct status dnat ip saddr {s4} masquerade
    oifname "{bridge}" ct status dnat ip6 saddr {s6} masquerade
  }}
  chain forward {{
    type filter hook forward priority filter; policy accept;
    iifname {{ "{bridge}", "{tun}" }} accept
    oifname {{ "{bridge}", "{tun}" }} accept
  }}
}}
)",
      fmt::arg("table", options_.table), fmt::arg("bridge", options_.bridge),
      fmt::arg("tun", options_.tun), fmt::arg("s4", subnet4.toString()),
      fmt::arg("s6", subnet6.toString()), fmt::arg("o4", net::kOverlayIpv4Prefix.toString()),
      fmt::arg("o6", net::kOverlayIpv6Prefix.toString()));
}

std::vector<std::string> NftPortMapper::elementCommands(const std::string& verb,
                                                        const InstancePorts& ports) const {
  std::vector<std::string> commands;
  const bool deleting = verb == "delete";
  for (const net::PortMapping& m : ports.mappings) {
    const std::string key = fmt::format("{} . {}", net::protocolName(m.protocol), m.host_port);
    auto element = [&](std::string_view map, const std::string& address) {
      const std::string value =
          deleting ? "" : fmt::format(" : {} . {}", address, m.container_port);
      commands.push_back(
          fmt::format("{} element inet {} {} {{ {}{} }}", verb, options_.table, map, key, value));
    };
    element("dnat4", ports.nsip.toString());
    if (ports.nsip6) element("dnat6", ports.nsip6->toString());
  }
  return commands;
}

Status NftPortMapper::reset(const net::Ipv4Prefix& subnet4, const net::Ipv6Prefix& subnet6) {
  OAK_TRY(validateOptions());
  // "add" first so that "delete" cannot fail: the table is replaced in one transaction.
  const std::string script = fmt::format("add table inet {0}\ndelete table inet {0}\n{1}",
                                         options_.table, rulesetScript(subnet4, subnet6));
  OAK_TRY(runNft(script, "create nftables table inet " + options_.table));
  table_.clear();
  return {};
}

Status NftPortMapper::add(const std::string& task_id, net::Ipv4Address nsip,
                          std::optional<net::Ipv6Address> nsip6,
                          const std::vector<net::PortMapping>& mappings) {
  OAK_TRY(validateOptions());
  OAK_TRY(table_.check(task_id, mappings));
  InstancePorts ports{nsip, nsip6, mappings};
  const InstancePorts* old = table_.find(task_id);
  if (old && *old == ports) return {};
  std::vector<std::string> commands;
  if (old) commands = elementCommands("delete", *old);
  for (std::string& command : elementCommands("add", ports)) commands.push_back(std::move(command));
  if (!commands.empty()) {
    OAK_TRY(runNft(join(commands), "map host ports of " + task_id));
  }
  table_.set(task_id, std::move(ports));
  return {};
}

Status NftPortMapper::remove(const std::string& task_id) {
  OAK_TRY(validateOptions());
  const InstancePorts* old = table_.find(task_id);
  if (!old) return {};
  const std::vector<std::string> commands = elementCommands("delete", *old);
  const std::string what = "unmap host ports of " + task_id;
  if (!runNft(join(commands), what)) {
    // The batch fails as a whole when any element is already gone (the table was flushed from
    // outside); delete the rest one by one.
    for (const std::string& command : commands) {
      Status deleted = runNft(command, what);
      if (!deleted && !isMissing(deleted.error())) return deleted;
    }
  }
  table_.erase(task_id);
  return {};
}

Status NftPortMapper::teardown() {
  OAK_TRY(validateOptions());
  OAK_TRY(runNft(fmt::format("add table inet {0}\ndelete table inet {0}\n", options_.table),
                 "delete nftables table inet " + options_.table));
  table_.clear();
  return {};
}

}  // namespace oak::worker
