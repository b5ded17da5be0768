#include "worker/overlay/overlay.h"

#include <spdlog/spdlog.h>

#include <random>

#include "worker/net/netlink_host_network.h"
#include "worker/net/nft_port_mapper.h"
#include "worker/overlay/data_path.h"
#include "worker/overlay/kernel_path.h"

namespace oak::worker {

namespace {

std::optional<overlay::IpAddress> parseIpAddress(const std::string& text) {
  if (auto a = net::Ipv4Address::parse(text)) return overlay::IpAddress{*a};
  if (auto a = net::Ipv6Address::parse(text)) return overlay::IpAddress{*a};
  return std::nullopt;
}

}  // namespace

struct Overlay::Kernel {
  NetlinkHostNetwork host;
  NftPortMapper ports;
};

Result<std::unique_ptr<Overlay>> Overlay::create(EventLoop& loop, const Clock& clock,
                                                 mqtt::MessageBus& bus, OverlayOptions options) {
  auto address = parseIpAddress(options.advertise_address);
  if (!address) {
    return makeError(
        ErrorCode::kInvalidArgument,
        "--advertise-address: '" + options.advertise_address + "' is not an IP address");
  }
  std::unique_ptr<Overlay> o(new Overlay());
  o->loop_ = &loop;
  o->clock_ = &clock;
  o->options_ = options;
  o->kernel_ = std::make_unique<Kernel>(
      Kernel{NetlinkHostNetwork{},
             NftPortMapper(NftOptions{options.nft_table, options.bridge, options.tun})});
  NetManagerOptions nm;
  nm.worker_id = options.worker_id;
  nm.state_dir = options.data_dir + "/net";
  nm.netns_dir = "/run/oakestra/" + options.worker_namespace + "/netns";
  nm.bridge.name = options.bridge;
  nm.tun.name = options.tun;
  // The kernel data plane reads only the first packets of new flows from the TUN device.
  nm.tun.offload = options.data_plane == DataPlaneKind::kUserspace;
  nm.advertise_ip = options.advertise_address;
  nm.tunnel_port = options.tunnel_port;
  o->manager_ = std::make_unique<NetManager>(
      NetManager::Deps{loop, clock, bus, o->kernel_->host, o->kernel_->ports}, nm);
  Overlay* raw = o.get();
  std::weak_ptr<bool> alive = o->alive_;
  NetManager::Hooks hooks;
  hooks.table = [raw](std::shared_ptr<const overlay::ServiceTable> t) {
    if (raw->data_path_) raw->data_path_->setTable(std::move(t));
  };
  hooks.query_done = [raw](const std::string& key, bool found) {
    if (raw->data_path_) raw->data_path_->queryDone(key, found);
  };
  hooks.ready = [raw, alive, address = *address](UniqueFd tun) {
    auto started = raw->startDataPlane(std::move(tun), address, [raw, alive](std::string key) {
      raw->loop_->post([raw, alive, key = std::move(key)] {
        if (auto p = alive.lock(); p && *p) raw->manager_->query(key);
      });
    });
    if (!started) {
      spdlog::critical("the overlay data plane could not start: {}", started.error().message);
      return;
    }
    raw->data_path_ = std::move(*started);
    raw->data_path_->setTable(raw->manager_->table());
    spdlog::info("overlay data plane running ({}); tunnel {}/udp",
                 raw->options_.data_plane == DataPlaneKind::kKernel ? "kernel: VXLAN, nftables"
                                                                    : "userspace proxy",
                 raw->options_.tunnel_port);
  };
  o->manager_->setHooks(std::move(hooks));
  return o;
}

Result<std::unique_ptr<DataPlane>> Overlay::startDataPlane(UniqueFd tun,
                                                           const overlay::IpAddress& address,
                                                           DataPlane::QueryHook query) {
  const overlay::TunnelEndpoint self{address, options_.tunnel_port};
  if (options_.data_plane == DataPlaneKind::kKernel) {
    KernelPathOptions k;
    k.subnet4 = *manager_->subnet4();
    k.subnet6 = *manager_->subnet6();
    k.self = self;
    k.vxlan = options_.vxlan;
    k.nft_table = options_.overlay_nft_table;
    OAK_ASSIGN_OR_RETURN(auto path,
                         KernelPath::start(std::move(tun), k, *clock_, std::move(query)));
    return std::unique_ptr<DataPlane>(std::move(path));
  }
  // A worker that ran the kernel data plane before holds the tunnel's port in its VXLAN device.
  OAK_TRY(KernelPath::removeLeftovers(options_.vxlan, options_.overlay_nft_table));
  overlay::ProxyConfig proxy{*manager_->subnet4(), *manager_->subnet6(), self};
  proxy.hash_seed = std::random_device{}();
  OAK_ASSIGN_OR_RETURN(auto path, DataPath::start(std::move(tun), {proxy, options_.tunnel_port},
                                                  *clock_, std::move(query)));
  return std::unique_ptr<DataPlane>(std::move(path));
}

Overlay::~Overlay() {
  *alive_ = false;
  data_path_.reset();
}

void Overlay::start() {
  manager_->start();
}

std::optional<overlay::ProxyCounters> Overlay::counters() const {
  if (!data_path_) return std::nullopt;
  return data_path_->counters();
}

void Overlay::tick() {
  manager_->tick();
}

}  // namespace oak::worker
