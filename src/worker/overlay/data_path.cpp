#include "worker/overlay/data_path.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace oak::worker {

namespace {

constexpr size_t kBatch = 32;
constexpr size_t kBufferSize = 2048;  // MTU-sized packets plus room for an ICMP error
constexpr size_t kHeldPerAddress = 8;
constexpr size_t kHeldAddresses = 256;
constexpr auto kProbeEvery = std::chrono::seconds(5);

std::string errnoText(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

void setNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// The socket address of a tunnel endpoint, as the dual-stack socket wants it.
sockaddr_in6 toSockaddr(const overlay::TunnelEndpoint& e) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(e.port);
  net::Ipv6Address wide = std::holds_alternative<net::Ipv4Address>(e.address)
                              ? overlay::widen(std::get<net::Ipv4Address>(e.address))
                              : std::get<net::Ipv6Address>(e.address);
  std::memcpy(&sa.sin6_addr, wide.bytes().data(), 16);
  return sa;
}

overlay::TunnelEndpoint fromSockaddr(const sockaddr_in6& sa) {
  net::Ipv6Address::Bytes b;
  std::memcpy(b.data(), &sa.sin6_addr, 16);
  net::Ipv6Address a(b);
  overlay::TunnelEndpoint e;
  e.port = ntohs(sa.sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&sa.sin6_addr)) {
    e.address = overlay::narrow(a);
  } else {
    e.address = a;
  }
  return e;
}

}  // namespace

struct DataPath::Impl {
  Impl(UniqueFd tun_fd, DataPathOptions o, const Clock& c, QueryHook q)
      : tun(std::move(tun_fd)),
        options(std::move(o)),
        clock(c),
        query_hook(std::move(q)),
        core(options.proxy, c) {}

  UniqueFd tun;
  UniqueFd udp;
  UniqueFd wake;  // eventfd: the inbox has something
  DataPathOptions options;
  const Clock& clock;
  QueryHook query_hook;
  overlay::ProxyCore core;
  std::thread thread;
  std::atomic<bool> stopping{false};

  // Inbox, filled by other threads.
  mutable std::mutex mutex;
  std::shared_ptr<const overlay::ServiceTable> new_table;
  std::vector<std::pair<std::string, bool>> answers;
  overlay::ProxyCounters published;

  // Thread-owned.
  std::array<std::array<uint8_t, kBufferSize>, kBatch> in{};
  std::array<iovec, kBatch> in_iov{};
  std::array<sockaddr_in6, kBatch> in_from{};
  std::array<mmsghdr, kBatch> in_msgs{};
  std::array<std::array<uint8_t, kBufferSize>, kBatch> out{};
  std::array<iovec, kBatch> out_iov{};
  std::array<sockaddr_in6, kBatch> out_to{};
  std::array<mmsghdr, kBatch> out_msgs{};
  size_t out_count = 0;
  std::map<std::string, std::deque<std::vector<uint8_t>>> held;
  std::shared_ptr<const overlay::ServiceTable> table;
  Clock::TimePoint last_sweep{};
  Clock::TimePoint last_probe{};

  void run();
  void applyInbox();
  void readTun();
  void readTunnel();
  void handle(std::span<uint8_t> buffer, const overlay::Verdict& v);
  void queueToPeer(std::span<const uint8_t> data, const overlay::TunnelEndpoint& peer);
  void flushPeers();
  void writeTun(std::span<const uint8_t> data);
  void hold(const overlay::IpAddress& address, std::span<const uint8_t> packet);
  void release(const std::string& address, bool found);
  void probePeers();
  void wakeUp() {
    uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof(one));
  }
};

Result<std::unique_ptr<DataPath>> DataPath::start(UniqueFd tun, DataPathOptions options,
                                                  const Clock& clock, QueryHook query) {
  auto impl = std::make_unique<Impl>(std::move(tun), std::move(options), clock, std::move(query));
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return makeError(ErrorCode::kUnavailable, errnoText("tunnel socket"));
  impl->udp = UniqueFd(fd);
  int off = 0;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  int buffer = 4 << 20;  // bursts of a fast sender must not overflow the queue at once
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_port = htons(impl->options.tunnel_port);
  any.sin6_addr = in6addr_any;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) {
    return makeError(ErrorCode::kUnavailable,
                     errnoText(fmt::format("tunnel port {}/udp", impl->options.tunnel_port)));
  }
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return makeError(ErrorCode::kUnavailable, errnoText("eventfd"));
  impl->wake = UniqueFd(efd);
  setNonBlocking(impl->tun.get());
  for (size_t i = 0; i < kBatch; ++i) {
    impl->in_iov[i] = {impl->in[i].data(), kBufferSize};
    impl->in_msgs[i].msg_hdr.msg_iov = &impl->in_iov[i];
    impl->in_msgs[i].msg_hdr.msg_iovlen = 1;
    impl->in_msgs[i].msg_hdr.msg_name = &impl->in_from[i];
    impl->out_msgs[i].msg_hdr.msg_iov = &impl->out_iov[i];
    impl->out_msgs[i].msg_hdr.msg_iovlen = 1;
    impl->out_msgs[i].msg_hdr.msg_name = &impl->out_to[i];
    impl->out_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in6);
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<DataPath>(new DataPath(std::move(impl)));
}

DataPath::DataPath(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DataPath::~DataPath() {
  impl_->stopping = true;
  impl_->wakeUp();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void DataPath::setTable(std::shared_ptr<const overlay::ServiceTable> table) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->new_table = std::move(table);
  }
  impl_->wakeUp();
}

void DataPath::queryDone(const std::string& address, bool found) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->answers.emplace_back(address, found);
  }
  impl_->wakeUp();
}

overlay::ProxyCounters DataPath::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->published;
}

uint16_t DataPath::tunnelPort() const {
  sockaddr_in6 sa{};
  socklen_t len = sizeof(sa);
  ::getsockname(impl_->udp.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin6_port);
}

void DataPath::Impl::run() {
  std::array<pollfd, 3> fds{pollfd{tun.get(), POLLIN, 0}, pollfd{udp.get(), POLLIN, 0},
                            pollfd{wake.get(), POLLIN, 0}};
  while (!stopping) {
    int n = ::poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) {
      spdlog::error("{}", errnoText("data path poll"));
      return;
    }
    if (fds[2].revents & POLLIN) {
      uint64_t count = 0;
      (void)!::read(wake.get(), &count, sizeof(count));
      applyInbox();
    }
    if (fds[0].revents & POLLIN) readTun();
    if (fds[1].revents & POLLIN) readTunnel();
    flushPeers();
    auto now = clock.now();
    if (now - last_sweep >= std::chrono::seconds(1)) {
      last_sweep = now;
      core.sweep();
      std::lock_guard lock(mutex);
      published = core.counters();
    }
    if (now - last_probe >= kProbeEvery) {
      last_probe = now;
      probePeers();
    }
  }
}

void DataPath::Impl::applyInbox() {
  std::shared_ptr<const overlay::ServiceTable> fresh;
  std::vector<std::pair<std::string, bool>> done;
  {
    std::lock_guard lock(mutex);
    fresh = std::move(new_table);
    new_table.reset();
    done.swap(answers);
  }
  if (fresh) {
    table = fresh;
    core.setTable(std::move(fresh));
  }
  for (const auto& [address, found] : done) release(address, found);
}

void DataPath::Impl::readTun() {
  // One packet per read; a bounded number per wake-up so the tunnel side is not starved.
  for (size_t i = 0; i < kBatch; ++i) {
    ssize_t got = ::read(tun.get(), in[0].data(), kBufferSize);
    if (got <= 0) return;
    auto v = core.fromTun(in[0], static_cast<size_t>(got));
    if (v.kind == overlay::Verdict::kQuery) {
      hold(v.query, std::span<const uint8_t>(in[0].data(), static_cast<size_t>(got)));
      continue;
    }
    handle(in[0], v);
  }
}

void DataPath::Impl::readTunnel() {
  for (size_t i = 0; i < kBatch; ++i) in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in6);
  int n = ::recvmmsg(udp.get(), in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  for (int i = 0; i < n; ++i) {
    auto from = fromSockaddr(in_from[i]);
    auto v = core.fromTunnel(in[i], in_msgs[i].msg_len, from);
    handle(in[i], v);
  }
}

void DataPath::Impl::handle(std::span<uint8_t> buffer, const overlay::Verdict& v) {
  switch (v.kind) {
    case overlay::Verdict::kToTun:
    case overlay::Verdict::kIcmpToTun:
      writeTun(buffer.first(v.length));
      break;
    case overlay::Verdict::kToPeer:
      queueToPeer(buffer.first(v.length), v.peer);
      break;
    default:  // dropped (counted by the core), consumed, or a query handled by the caller
      break;
  }
}

void DataPath::Impl::writeTun(std::span<const uint8_t> data) {
  if (::write(tun.get(), data.data(), data.size()) < 0 && errno != EAGAIN) {
    spdlog::debug("{}", errnoText("write to the TUN device"));
  }
}

void DataPath::Impl::queueToPeer(std::span<const uint8_t> data,
                                 const overlay::TunnelEndpoint& peer) {
  if (out_count == kBatch) flushPeers();
  std::memcpy(out[out_count].data(), data.data(), data.size());
  out_iov[out_count] = {out[out_count].data(), data.size()};
  out_to[out_count] = toSockaddr(peer);
  ++out_count;
}

void DataPath::Impl::flushPeers() {
  size_t sent = 0;
  while (sent < out_count) {
    int n = ::sendmmsg(udp.get(), out_msgs.data() + sent, out_count - sent, 0);
    if (n <= 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      // One unreachable peer must not take the rest of the batch with it.
      spdlog::debug("{}", errnoText("tunnel send"));
      ++sent;
      continue;
    }
    sent += static_cast<size_t>(n);
  }
  out_count = 0;
}

void DataPath::Impl::hold(const overlay::IpAddress& address, std::span<const uint8_t> packet) {
  std::string key = overlay::toString(address);
  auto it = held.find(key);
  if (it == held.end()) {
    if (held.size() >= kHeldAddresses) return;  // dropped; the sender retries
    it = held.emplace(key, std::deque<std::vector<uint8_t>>{}).first;
    query_hook(key);
  }
  if (it->second.size() < kHeldPerAddress) it->second.emplace_back(packet.begin(), packet.end());
}

void DataPath::Impl::release(const std::string& address, bool found) {
  auto it = held.find(address);
  if (it == held.end()) return;
  auto packets = std::move(it->second);
  held.erase(it);
  for (auto& p : packets) {
    std::memcpy(in[0].data(), p.data(), p.size());
    auto v = found ? core.fromTun(in[0], p.size()) : core.buildUnreachable(in[0], p.size());
    // Still unknown after an answer (the routes did not name it): unreachable.
    if (v.kind == overlay::Verdict::kQuery) v = core.buildUnreachable(in[0], p.size());
    handle(in[0], v);
  }
}

void DataPath::Impl::probePeers() {
  if (!table) return;
  std::vector<overlay::TunnelEndpoint> peers;
  for (const auto& job : table->jobs()) {
    for (const auto& inst : job.instances) {
      if (inst.host == options.proxy.self) continue;
      if (std::find(peers.begin(), peers.end(), inst.host) == peers.end()) {
        peers.push_back(inst.host);
      }
    }
  }
  for (const auto& peer : peers) {
    size_t n = core.buildProbe(out[0], peer);
    if (n == 0) continue;
    sockaddr_in6 to = toSockaddr(peer);
    ::sendto(udp.get(), out[0].data(), n, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }
}

}  // namespace oak::worker
