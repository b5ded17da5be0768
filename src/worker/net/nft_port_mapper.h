#pragma once
// PortMapper on nftables (libnftables): one table `inet <table>` owned by the worker. Port
// mappings are elements of two concatenated maps, (l4proto . host port) -> (address . port), one
// per family, so adding or removing an instance touches elements only, never rules; each call is
// one atomic nftables transaction. Acts on the network namespace of the calling thread.

#include <string>

#include "worker/net/port_mapper.h"
#include "worker/net/port_table.h"

namespace oak::worker {

struct NftOptions {
  std::string table = "oakestra";  // [A-Za-z0-9_]+
  std::string bridge = "oak0";
  std::string tun = "oaktun0";
};

class NftPortMapper final : public PortMapper {
 public:
  explicit NftPortMapper(NftOptions options = {});

  Status reset(const net::Ipv4Prefix& subnet4, const net::Ipv6Prefix& subnet6) override;
  Status add(const std::string& task_id, net::Ipv4Address nsip,
             std::optional<net::Ipv6Address> nsip6,
             const std::vector<net::PortMapping>& mappings) override;
  Status remove(const std::string& task_id) override;
  Status teardown() override;

  // The nftables script `reset` runs (for the design note and for debugging).
  std::string rulesetScript(const net::Ipv4Prefix& subnet4, const net::Ipv6Prefix& subnet6) const;

 private:
  Status validateOptions() const;
  // "add element inet oakestra dnat4 { tcp . 8080 : 10.18.0.2 . 80 }" lines for one instance.
  std::vector<std::string> elementCommands(const std::string& verb,
                                           const InstancePorts& ports) const;

  NftOptions options_;
  PortTable table_;
};

}  // namespace oak::worker
