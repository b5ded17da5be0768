#include "worker/overlay/net_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>

#include "common/files.h"
#include "common/json.h"
#include "worker/net/netns.h"

namespace oak::worker {

namespace bj = boost::json;

namespace {

// Offsets in the worker's subnets: .0 is the network, .1 the bridge, .63 the IPv4 broadcast.
// An instance gets the same offset in both families (10.18.0.5 and fc00::5).
constexpr uint32_t kFirstOffset = 2;
constexpr uint32_t kLastOffset = 62;

std::string nsip6Text(const std::optional<net::Ipv6Address>& a) {
  return a ? a->toString() : "";
}

}  // namespace

NetManager::NetManager(Deps deps, NetManagerOptions options)
    : deps_(deps), options_(std::move(options)), serial_(deps.runner) {}

void NetManager::send(std::string_view suffix, const bj::object& body) {
  deps_.bus.publish(fmt::format("nodes/{}/net/{}", options_.worker_id, suffix), bj::serialize(body),
                    1);
}

std::string NetManager::recordPath(const std::string& task_id) const {
  return options_.state_dir + "/" + task_id + ".json";
}

void NetManager::start() {
  for (const char* t : {"subnet/result", "tablequery/result", "table"}) {
    deps_.bus.subscribe(fmt::format("nodes/{}/net/{}", options_.worker_id, t), 1);
  }
  subnet_asked_ = deps_.clock.now();
  send("subnet", {});
}

bool NetManager::handle(const mqtt::Message& m) {
  std::string prefix = fmt::format("nodes/{}/net/", options_.worker_id);
  if (!m.topic.starts_with(prefix)) return false;
  std::string_view what = std::string_view(m.topic).substr(prefix.size());
  auto v = json::parse(m.payload);
  if (!v || !v->is_object()) {
    spdlog::warn("malformed message on {}; ignored", m.topic);
    return true;
  }
  if (what == "subnet/result") {
    onSubnet(v->get_object());
  } else if (what == "tablequery/result") {
    onQueryResult(v->get_object());
  } else if (what == "table") {
    onTableChange(v->get_object());
  }
  return true;
}

void NetManager::onSubnet(const bj::object& body) {
  if (subnet4_) return;  // already have them (an answer to a retry)
  if (auto error = json::getString(body, "error")) {
    return spdlog::warn("no overlay subnet yet: {}; asking again", *error);
  }
  auto v4 = net::Ipv4Prefix::parse(json::getString(body, "subnet").value_or(""));
  auto v6 = net::Ipv6Prefix::parse(json::getString(body, "subnet_v6").value_or(""));
  if (!v4 || !v6 || v4->length() != 26 || v6->length() != 120) {
    return spdlog::error("the cluster sent unusable subnets {}; asking again", bj::serialize(body));
  }
  subnet4_ = *v4;
  subnet6_ = *v6;
  options_.bridge.subnet4 = *v4;
  options_.bridge.subnet6 = *v6;
  // What the host itself sends into the overlay leaves from its bridge addresses.
  options_.tun.source4 = options_.bridge.gateway4();
  options_.tun.source6 = options_.bridge.gateway6();
  spdlog::info("overlay subnets {} and {}", v4->toString(), v6->toString());
  if (recovered_) setUpHost();
}

void NetManager::recovered(bool complete) {
  if (recovered_) return;
  recovered_ = complete;
  if (subnet4_ && !setting_up_ && !ready_) setUpHost();
}

void NetManager::setUpHost() {
  setting_up_ = true;
  auto result = std::make_shared<Status>();
  auto tun = std::make_shared<Result<UniqueFd>>(makeError(ErrorCode::kInternal, "not opened"));
  // Leftovers of instances this worker no longer holds are removed, adopted ones kept.
  std::set<std::string> keep_links;
  std::set<std::string> keep_netns;
  for (const auto& [id, a] : attachments_) {
    keep_links.insert(a.link.host_ifname);
    keep_netns.insert(a.link.netns_path);
  }
  std::vector<Attachment> adopted;
  for (const auto& [id, a] : attachments_) adopted.push_back(a);
  bool clean_up = recovered_.value_or(false);
  serial_.run(
      [this, result, tun, keep_links, keep_netns, adopted, clean_up] {
        *result = [&]() -> Status {
          OAK_TRY(deps_.host.ensureBridge(options_.bridge));
          OAK_TRY(deps_.ports.reset(*subnet4_, *subnet6_));
          for (const auto& a : adopted) {
            if (auto s = deps_.ports.add(a.link.host_ifname, a.link.nsip, a.link.nsip6, a.ports);
                !s) {
              spdlog::warn("port mappings of {}: {}", a.job_name, s.error().message);
            }
          }
          if (auto links = clean_up
                               ? deps_.host.instanceLinks(options_.bridge.name)
                               : Result<std::vector<std::string>>(std::vector<std::string>{})) {
            for (const auto& name : *links) {
              if (keep_links.count(name)) continue;
              spdlog::info("removing the leftover instance link {}", name);
              (void)deps_.host.detachInstance(InstanceLink{"", name, {}, {}});
            }
          }
          std::error_code ec;
          for (const auto& e : std::filesystem::directory_iterator(options_.netns_dir, ec)) {
            if (!clean_up || keep_netns.count(e.path().string())) continue;
            spdlog::info("removing the leftover namespace {}", e.path().string());
            (void)removeNetns(e.path().string());
          }
          for (const auto& e : std::filesystem::directory_iterator(options_.state_dir, ec)) {
            std::string task = e.path().stem().string();
            bool kept = std::any_of(adopted.begin(), adopted.end(), [&](const Attachment& a) {
              return a.link.netns_path.ends_with("/" + task);
            });
            if (clean_up && !kept) std::filesystem::remove(e.path(), ec);
          }
          *tun = deps_.host.openTun(options_.tun);
          if (!*tun) return tun->error();
          return {};
        }();
      },
      [this, result, tun] {
        setting_up_ = false;
        if (!*result) {
          // Asked again from tick(): the cause may be passing (a busy netlink socket).
          spdlog::error("setting up the overlay network failed: {}", result->error().message);
          subnet4_.reset();
          subnet6_.reset();
          return;
        }
        ready_ = true;
        spdlog::info("overlay network ready: bridge {}, TUN {}", options_.bridge.name,
                     options_.tun.name);
        if (hooks_.ready) hooks_.ready(std::move(**tun));
        rebuildTable();
        auto waiting = std::move(waiting_);
        waiting_.clear();
        for (auto& w : waiting) startAttach(w.spec, std::move(w.done));
      });
}

void NetManager::tick() {
  auto now = deps_.clock.now();
  if (!subnet4_ && !setting_up_ && now - subnet_asked_ >= options_.subnet_retry) {
    subnet_asked_ = now;
    send("subnet", {});
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (now - it->since < options_.ready_timeout) {
      ++it;
      continue;
    }
    auto done = std::move(it->done);
    it = waiting_.erase(it);
    done(makeError(ErrorCode::kUnavailable,
                   "the overlay network is not ready (no subnet from the cluster yet)"));
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second < options_.query_timeout) {
      ++it;
      continue;
    }
    std::string key = it->first;
    it = pending_.erase(it);  // asking again is possible at once
    spdlog::warn("no answer to the table query for {}", key);
    if (hooks_.query_done) hooks_.query_done(key, false);
  }
  bool dropped = false;
  for (auto it = interests_.begin(); it != interests_.end();) {
    bool local = false;
    for (const auto& [id, a] : attachments_) local = local || a.job_name == it->first;
    if (local || now - it->second.last_used < options_.interest_idle) {
      ++it;
      continue;
    }
    send("interest/remove", bj::object{{"job_name", it->first}});
    it = interests_.erase(it);
    dropped = true;
  }
  if (dropped) rebuildTable();
}

Result<NetManager::Attachment> NetManager::plan(const InstanceSpec& spec) {
  Attachment a;
  a.job_name = spec.job_name;
  a.instance = spec.instance;
  OAK_ASSIGN_OR_RETURN(a.ports, net::parsePorts(spec.port));
  if (!spec.instance_ip.empty()) {
    a.instance_ip = net::Ipv4Address::parse(spec.instance_ip);
    if (!a.instance_ip) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("instance_ip: '{}' is not an IPv4 address", spec.instance_ip));
    }
  }
  if (!spec.instance_ip_v6.empty()) {
    a.instance_ip6 = net::Ipv6Address::parse(spec.instance_ip_v6);
    if (!a.instance_ip6) {
      return makeError(
          ErrorCode::kUnprocessable,
          fmt::format("instance_ip_v6: '{}' is not an IPv6 address", spec.instance_ip_v6));
    }
  }
  // Round robin over the free offsets, so a freed address is not reused at once (flows of the
  // old instance may still be in other workers' tables).
  std::optional<uint32_t> offset;
  for (uint32_t i = 0; i <= kLastOffset - kFirstOffset && !offset; ++i) {
    uint32_t candidate = kFirstOffset + (cursor_ + i) % (kLastOffset - kFirstOffset + 1);
    if (!used4_.count(candidate)) offset = candidate;
  }
  if (!offset) {
    return makeError(ErrorCode::kExhausted,
                     fmt::format("all {} instance addresses of {} are taken",
                                 kLastOffset - kFirstOffset + 1, subnet4_->toString()));
  }
  cursor_ = *offset - kFirstOffset + 1;
  a.link.nsip = subnet4_->first() + *offset;
  a.link.nsip6 = subnet6_->first() + *offset;
  std::string task_id = spec.taskId();
  a.link.host_ifname = instanceLinkName(task_id);
  a.link.netns_path = options_.netns_dir + "/" + task_id;
  return a;
}

void NetManager::attach(const InstanceSpec& spec,
                        std::function<void(Result<NetworkAttachment>)> done) {
  if (!ready_) {
    waiting_.push_back({spec, std::move(done), deps_.clock.now()});
    return;
  }
  startAttach(spec, std::move(done));
}

void NetManager::startAttach(const InstanceSpec& spec,
                             std::function<void(Result<NetworkAttachment>)> done) {
  std::string task_id = spec.taskId();
  if (attachments_.count(task_id)) {
    return done(makeError(ErrorCode::kConflict, "the instance already has a network"));
  }
  auto planned = plan(spec);
  if (!planned) return done(planned.error());
  Attachment a = std::move(*planned);
  uint32_t offset = a.link.nsip - subnet4_->first();
  used4_.insert(offset);
  attachments_[task_id] = a;  // reserved now; dropped again if the kernel work fails
  auto result = std::make_shared<Status>();
  std::string record = bj::serialize(toJson(a));
  // A unikernel's namespace only carries frames to its guest, which owns the addresses itself.
  const bool guest = spec.virtualization == "unikernel";
  NetworkAttachment attached{a.link.netns_path,
                             fmt::format("{}/{}", a.link.nsip.toString(), subnet4_->length()),
                             options_.bridge.gateway4().toString(), options_.bridge.mtu};
  serial_.run(
      [this, a, guest, result, record, path = recordPath(task_id)] {
        *result = [&]() -> Status {
          OAK_TRY(files::ensureDirectory(options_.state_dir, 0700));
          OAK_TRY(createNetns(a.link.netns_path));
          Status linked = guest ? deps_.host.attachGuest(options_.bridge, a.link)
                                : deps_.host.attachInstance(options_.bridge, a.link);
          if (!linked) {
            (void)removeNetns(a.link.netns_path);
            return linked;
          }
          if (auto s = deps_.ports.add(a.link.host_ifname, a.link.nsip, a.link.nsip6, a.ports);
              !s) {
            (void)deps_.host.detachInstance(a.link);
            (void)removeNetns(a.link.netns_path);
            return s;
          }
          if (auto s = files::writeAtomic(path, record, 0600); !s) {
            (void)deps_.ports.remove(a.link.host_ifname);
            (void)deps_.host.detachInstance(a.link);
            (void)removeNetns(a.link.netns_path);
            return s;
          }
          return {};
        }();
      },
      [this, task_id, offset, result, done = std::move(done), attached = std::move(attached)] {
        if (!*result) {
          attachments_.erase(task_id);
          used4_.erase(offset);
          return done(result->error());
        }
        spdlog::info("{}: network {} / {}", task_id, attachments_[task_id].link.nsip.toString(),
                     nsip6Text(attachments_[task_id].link.nsip6));
        rebuildTable();
        done(attached);
      });
}

void NetManager::detach(const std::string& task_id) {
  auto it = attachments_.find(task_id);
  if (it == attachments_.end()) return;
  Attachment a = std::move(it->second);
  attachments_.erase(it);
  rebuildTable();
  uint32_t offset = a.link.nsip.toUint32() & 63;
  serial_.run(
      [this, a, path = recordPath(task_id)] {
        if (auto s = deps_.ports.remove(a.link.host_ifname); !s)
          spdlog::warn("removing port mappings of {}: {}", a.job_name, s.error().message);
        if (auto s = deps_.host.detachInstance(a.link); !s)
          spdlog::warn("removing the link of {}: {}", a.job_name, s.error().message);
        if (auto s = removeNetns(a.link.netns_path); !s)
          spdlog::warn("removing the namespace of {}: {}", a.job_name, s.error().message);
        std::error_code ec;
        std::filesystem::remove(path, ec);
      },
      [this, offset] { used4_.erase(offset); });
}

void NetManager::adopt(const InstanceSpec& spec) {
  std::string task_id = spec.taskId();
  auto text = files::read(recordPath(task_id));
  auto v = text ? json::parse(*text) : Result<bj::value>(text.error());
  auto a = v && v->is_object() ? attachmentFromJson(v->get_object())
                               : Result<Attachment>(makeError(ErrorCode::kNotFound, "no record"));
  if (!a) {
    return spdlog::warn("{}: runs without a known network ({})", task_id, a.error().message);
  }
  used4_.insert(a->link.nsip.toUint32() & 63);
  attachments_[task_id] = std::move(*a);
  rebuildTable();
}

bj::object NetManager::describe(const std::string& task_id) const {
  auto it = attachments_.find(task_id);
  if (it == attachments_.end()) return {};
  return bj::object{{"namespace_ip", it->second.link.nsip.toString()},
                    {"namespace_ip_v6", nsip6Text(it->second.link.nsip6)},
                    {"host_ip", options_.advertise_ip},
                    {"host_port", options_.tunnel_port}};
}

void NetManager::query(const std::string& address) {
  if (pending_.count(address)) return;
  pending_[address] = deps_.clock.now();
  send("tablequery/request", bj::object{{"key", address}});
}

void NetManager::used(const std::string& job_name) {
  if (auto it = interests_.find(job_name); it != interests_.end()) {
    it->second.last_used = deps_.clock.now();
  }
}

void NetManager::onQueryResult(const bj::object& body) {
  auto key = json::getString(body, "key").value_or("");
  bool asked = pending_.erase(key) > 0;
  const auto* routes = json::findObject(body, "routes");
  bool found = false;
  if (routes != nullptr) {
    auto parsed = overlay::jobRoutesFromJson(*routes);
    if (parsed) {
      std::string job = parsed->job_name;
      interests_[job] = Interest{std::move(*parsed), deps_.clock.now()};
      rebuildTable();
      found = true;
    } else {
      spdlog::warn("routes for {}: {}", key, parsed.error().message);
    }
  }
  if (asked && hooks_.query_done) hooks_.query_done(key, found);
}

void NetManager::onTableChange(const bj::object& body) {
  auto job = json::getString(body, "key").value_or("");
  auto it = interests_.find(job);
  if (it == interests_.end()) return;
  const auto* routes = json::findObject(body, "routes");
  if (routes == nullptr) {
    interests_.erase(it);  // the service is gone
  } else if (auto parsed = overlay::jobRoutesFromJson(*routes)) {
    it->second.routes = std::move(*parsed);
  } else {
    return spdlog::warn("routes for {}: {}", job, parsed.error().message);
  }
  rebuildTable();
}

void NetManager::rebuildTable() {
  overlay::ServiceTable::Builder builder;
  for (const auto& [job, interest] : interests_) builder.add(interest.routes);
  for (const auto& [id, a] : attachments_) {
    if (!a.instance_ip || !a.instance_ip6) continue;  // cannot be a sender without them
    builder.addLocal(overlay::LocalInstance{a.job_name, a.instance, a.link.nsip, a.link.nsip6,
                                            *a.instance_ip, *a.instance_ip6});
  }
  table_ = builder.build();
  if (hooks_.table) hooks_.table(table_);
}

bj::object NetManager::toJson(const Attachment& a) {
  bj::array ports;
  for (const auto& p : a.ports) {
    ports.push_back(bj::object{{"host", p.host_port},
                               {"instance", p.container_port},
                               {"udp", p.protocol == net::PortMapping::Protocol::kUdp}});
  }
  return bj::object{{"job_name", a.job_name},
                    {"instance_number", a.instance},
                    {"netns", a.link.netns_path},
                    {"link", a.link.host_ifname},
                    {"nsip", a.link.nsip.toString()},
                    {"nsip6", nsip6Text(a.link.nsip6)},
                    {"instance_ip", a.instance_ip ? a.instance_ip->toString() : ""},
                    {"instance_ip6", a.instance_ip6 ? a.instance_ip6->toString() : ""},
                    {"ports", std::move(ports)}};
}

Result<NetManager::Attachment> NetManager::attachmentFromJson(const bj::object& o) {
  Attachment a;
  a.job_name = json::getString(o, "job_name").value_or("");
  a.instance = json::getInt(o, "instance_number").value_or(0);
  a.link.netns_path = json::getString(o, "netns").value_or("");
  a.link.host_ifname = json::getString(o, "link").value_or("");
  auto nsip = net::Ipv4Address::parse(json::getString(o, "nsip").value_or(""));
  if (!nsip || a.link.netns_path.empty() || a.link.host_ifname.empty()) {
    return makeError(ErrorCode::kInvalidArgument, "incomplete attachment record");
  }
  a.link.nsip = *nsip;
  a.link.nsip6 = net::Ipv6Address::parse(json::getString(o, "nsip6").value_or(""));
  a.instance_ip = net::Ipv4Address::parse(json::getString(o, "instance_ip").value_or(""));
  a.instance_ip6 = net::Ipv6Address::parse(json::getString(o, "instance_ip6").value_or(""));
  if (const auto* ports = json::findArray(o, "ports")) {
    for (const auto& p : *ports) {
      if (!p.is_object()) continue;
      net::PortMapping m;
      m.host_port = static_cast<uint16_t>(json::getInt(p.get_object(), "host").value_or(0));
      m.container_port =
          static_cast<uint16_t>(json::getInt(p.get_object(), "instance").value_or(0));
      if (p.get_object().if_contains("udp") && p.get_object().at("udp") == true) {
        m.protocol = net::PortMapping::Protocol::kUdp;
      }
      a.ports.push_back(m);
    }
  }
  return a;
}

}  // namespace oak::worker
