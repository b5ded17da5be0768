#include "datapath_lab.h"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/clock.h"
#include "net/address_plan.h"
#include "worker/net/netlink_host_network.h"
#include "worker/net/netns.h"
#include "worker/overlay/kernel_path.h"

namespace oak::testing {

namespace {

constexpr uint16_t kTunnelPort = 50103;
constexpr const char* kNetnsDir = "/run/netns";
constexpr const char* kNamePrefix = "odp";

Status sh(const std::string& command) {
  int rc = std::system((command + " >/dev/null 2>&1").c_str());
  if (rc != 0) {
    return makeError(ErrorCode::kUnavailable, fmt::format("`{}` failed ({})", command, rc));
  }
  return {};
}

// Namespaces of labs whose process is gone ("odp<pid>-...").
void removeLeftovers() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kNetnsDir, ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with(kNamePrefix)) continue;
    pid_t pid = std::atoi(name.c_str() + 3);
    if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) continue;
    (void)worker::removeNetns(e.path().string());
  }
}

}  // namespace

struct DatapathLab::Host {
  std::string name;
  std::string netns;
  net::Ipv4Prefix subnet4{net::Ipv4Address(), 32};
  net::Ipv6Prefix subnet6{net::Ipv6Address(), 128};
  worker::BridgeConfig bridge;
  std::unique_ptr<worker::DataPlane> data_path;
  int next_offset = 2;
};

Result<std::unique_ptr<DatapathLab>> DatapathLab::create(size_t hosts, worker::DataPlaneKind kind,
                                                         bool ipv6_underlay) {
  if (::geteuid() != 0) {
    return makeError(ErrorCode::kPermissionDenied, "the data path lab needs root");
  }
  removeLeftovers();
  std::unique_ptr<DatapathLab> lab(new DatapathLab());
  lab->prefix_ = fmt::format("{}{}-{:x}", kNamePrefix, ::getpid(), std::rand() & 0xffff);
  lab->subnet_ = 254;
  lab->kind_ = kind;
  lab->ipv6_underlay_ = ipv6_underlay;
  OAK_TRY(lab->setUp(hosts));
  return lab;
}

Status DatapathLab::setUp(size_t count) {
  std::string sw = prefix_ + "-sw";
  OAK_TRY(worker::createNetns(std::string(kNetnsDir) + "/" + sw));
  OAK_TRY(sh(fmt::format("ip -n {} link add br0 type bridge && ip -n {} link set br0 up", sw, sw)));
  for (size_t i = 0; i < count; ++i) {
    auto host = std::make_unique<Host>();
    host->name = fmt::format("{}-h{}", prefix_, i);
    host->netns = std::string(kNetnsDir) + "/" + host->name;
    OAK_TRY(worker::createNetns(host->netns));
    OAK_TRY(sh(fmt::format(
        "ip -n {sw} link add u{i} type veth peer name eth0 netns {h} && "
        "ip -n {sw} link set u{i} master br0 up && "
        "ip -n {h} addr add {addr}/{len} nodad dev eth0 && ip -n {h} link set eth0 up && "
        "ip -n {h} link set lo up",
        fmt::arg("sw", sw), fmt::arg("i", i), fmt::arg("h", host->name),
        fmt::arg("addr", underlayAddress(i)), fmt::arg("len", ipv6_underlay_ ? 64 : 24))));
    host->subnet4 =
        net::Ipv4Prefix(net::Ipv4Address::fromOctets(10, 18, static_cast<uint8_t>(i), 0),
                        net::kWorkerIpv4SubnetLength);
    host->subnet6 = net::Ipv6Prefix(net::kFirstWorkerIpv6Subnet + net::Uint128{256} * i,
                                    net::kWorkerIpv6SubnetLength);
    host->bridge.subnet4 = host->subnet4;
    host->bridge.subnet6 = host->subnet6;
    const overlay::TunnelEndpoint endpoint = endpointOf(i);
    Host* raw = host.get();
    const bool in_kernel = kind_ == worker::DataPlaneKind::kKernel;
    auto started = worker::runInNetns(
        host->netns, [raw, endpoint, in_kernel]() -> Result<std::unique_ptr<worker::DataPlane>> {
          worker::NetlinkHostNetwork kernel;
          OAK_TRY(kernel.ensureBridge(raw->bridge));
          worker::TunConfig tun;
          tun.source4 = raw->bridge.gateway4();
          tun.source6 = raw->bridge.gateway6();
          tun.offload = !in_kernel;  // the kernel path reads only the first packets of flows
          OAK_ASSIGN_OR_RETURN(auto fd, kernel.openTun(tun));
          // Nothing is asked of a control plane: what is not published is unknown at once.
          auto unknown = [raw](std::string address) { raw->data_path->queryDone(address, false); };
          // The thread starts here, so it lives in the host's namespace.
          if (in_kernel) {
            worker::KernelPathOptions options;
            options.subnet4 = raw->subnet4;
            options.subnet6 = raw->subnet6;
            options.self = endpoint;
            OAK_ASSIGN_OR_RETURN(auto path,
                                 worker::KernelPath::start(std::move(fd), options,
                                                           SystemClock::instance(), unknown));
            return std::unique_ptr<worker::DataPlane>(std::move(path));
          }
          overlay::ProxyConfig proxy{raw->subnet4, raw->subnet6, endpoint};
          proxy.hash_seed = 42;
          OAK_ASSIGN_OR_RETURN(auto path,
                               worker::DataPath::start(std::move(fd), {proxy, kTunnelPort},
                                                       SystemClock::instance(), unknown));
          return std::unique_ptr<worker::DataPlane>(std::move(path));
        });
    if (!started) return started.error();
    host->data_path = std::move(*started);
    hosts_.push_back(std::move(host));
  }
  return {};
}

DatapathLab::~DatapathLab() {
  for (auto& h : hosts_) h->data_path.reset();
  for (const auto& i : instances_) (void)worker::removeNetns(i->netns);
  for (const auto& h : hosts_) (void)worker::removeNetns(h->netns);
  (void)worker::removeNetns(std::string(kNetnsDir) + "/" + prefix_ + "-sw");
}

Result<LabInstance*> DatapathLab::addInstance(size_t host, const std::string& job_name,
                                              int64_t number) {
  Host& h = *hosts_.at(host);
  auto inst = std::make_unique<LabInstance>();
  inst->job_name = job_name;
  inst->number = number;
  inst->host = host;
  int offset = h.next_offset++;
  inst->netns = fmt::format("{}/{}-h{}-i{}", kNetnsDir, prefix_, host, offset);
  inst->nsip = h.subnet4.first() + static_cast<uint32_t>(offset);
  inst->nsip6 = h.subnet6.first() + static_cast<net::Uint128>(offset);
  uint32_t index = static_cast<uint32_t>(instances_.size()) + 1;
  inst->instance_ip = net::Ipv4Address::fromOctets(10, 30, 100, static_cast<uint8_t>(index));
  inst->instance_ip6 = net::Ipv6Address::fromHextets({0xfdff, 0, 0, 0, 0, 0, 0x100, 0}) + index;
  OAK_TRY(worker::createNetns(inst->netns));
  worker::InstanceLink link{inst->netns, worker::instanceLinkName(inst->netns), inst->nsip,
                            inst->nsip6};
  OAK_TRY(worker::runInNetns(h.netns, [&]() -> Status {
    worker::NetlinkHostNetwork kernel;
    return kernel.attachInstance(h.bridge, link);
  }));
  if (std::find(jobs_.begin(), jobs_.end(), job_name) == jobs_.end()) jobs_.push_back(job_name);
  instances_.push_back(std::move(inst));
  return instances_.back().get();
}

void DatapathLab::removeInstance(const LabInstance* instance) {
  std::erase_if(instances_, [&](const auto& i) {
    if (i.get() != instance) return false;
    (void)worker::removeNetns(i->netns);
    return true;
  });
}

std::pair<net::Ipv4Address, net::Ipv6Address> DatapathLab::serviceAddress(
    const std::string& job_name, int policy) const {
  auto it = std::find(jobs_.begin(), jobs_.end(), job_name);
  auto j = static_cast<uint8_t>(it - jobs_.begin());
  uint16_t block = policy == net::kClosestPolicy ? 0x1000 : 0x2000;
  return {net::Ipv4Address::fromOctets(10, 30, j, static_cast<uint8_t>(policy)),
          net::Ipv6Address::fromHextets({0xfdff, block, 0, 0, 0, 0, j, 1})};
}

void DatapathLab::publish() {
  std::vector<overlay::JobRoutes> jobs;
  for (const auto& name : jobs_) {
    overlay::JobRoutes job;
    job.job_name = name;
    for (int policy : {net::kRoundRobinPolicy, net::kClosestPolicy}) {
      auto [v4, v6] = serviceAddress(name, policy);
      job.service_ips.push_back({policy, v4, v6});
    }
    for (const auto& i : instances_) {
      if (i->job_name != name) continue;
      job.instances.push_back({i->number, fmt::format("w{}", i->host), i->instance_ip,
                               i->instance_ip6, i->nsip, i->nsip6, endpointOf(i->host)});
    }
    jobs.push_back(std::move(job));
  }
  std::vector<uint64_t> before;
  for (const auto& host : hosts_) before.push_back(host->data_path->tablesApplied());
  for (size_t h = 0; h < hosts_.size(); ++h) {
    overlay::ServiceTable::Builder builder;
    for (const auto& job : jobs) builder.add(job);
    for (const auto& i : instances_) {
      if (i->host != h) continue;
      builder.addLocal(
          {i->job_name, i->number, i->nsip, i->nsip6, i->instance_ip, i->instance_ip6});
    }
    hosts_[h]->data_path->setTable(builder.build());
  }
  // In effect everywhere before the test sends (the kernel's rules apply to packets at once).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (size_t h = 0; h < hosts_.size(); ++h) {
    while (hosts_[h]->data_path->tablesApplied() == before[h] &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

Result<int> DatapathLab::inNamespace(const std::string& netns,
                                     const std::function<int()>& fn) const {
  return worker::runInNetns(netns, [&]() -> Result<int> { return fn(); });
}

const std::string& DatapathLab::hostNetns(size_t host) const {
  return hosts_.at(host)->netns;
}

std::string DatapathLab::underlayAddress(size_t host) const {
  if (ipv6_underlay_) return fmt::format("fd31:{:x}::{:x}", subnet_, host + 2);
  return fmt::format("172.31.{}.{}", subnet_, host + 2);
}

overlay::TunnelEndpoint DatapathLab::endpointOf(size_t host) const {
  const std::string address = underlayAddress(host);
  if (ipv6_underlay_) return {*net::Ipv6Address::parse(address), kTunnelPort};
  return {*net::Ipv4Address::parse(address), kTunnelPort};
}

worker::DataPlane& DatapathLab::dataPath(size_t host) {
  return *hosts_.at(host)->data_path;
}

worker::DataPath* DatapathLab::userspaceDataPath(size_t host) {
  return dynamic_cast<worker::DataPath*>(hosts_.at(host)->data_path.get());
}

size_t DatapathLab::hosts() const {
  return hosts_.size();
}

}  // namespace oak::testing
