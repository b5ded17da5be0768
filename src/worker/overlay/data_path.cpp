#include "worker/overlay/data_path.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

#include "overlay/coalescer.h"
#include "overlay/segmenter.h"
#include "overlay/vnet_header.h"
#include "worker/overlay/inbox.h"

namespace oak::worker {

namespace {

constexpr size_t kBatch = 32;
constexpr size_t kSlot = 2048;        // an MTU-sized datagram
constexpr size_t kGroSlot = 65536;    // a train of datagrams the kernel joined (UDP_GRO)
constexpr size_t kMaxPacket = 65535;  // what one TUN read returns at most
constexpr size_t kTunBytesPerWake = 256 * 1024;
constexpr size_t kIcmpRoom = 2048;        // after a packet: room for the ICMP error replacing it
constexpr size_t kMaxVnetHeader = 64;     // bytes the device's virtio-net header may have
constexpr size_t kSendSegments = 128;     // segments per sendmmsg
constexpr size_t kTrainSegments = 64;     // per UDP_SEGMENT message (the kernel's UDP_MAX_SEGMENTS)
constexpr size_t kMaxUdpPayload = 65507;  // of one message, IPv4's limit

// A control message buffer holding one int or uint16_t.
union Control {
  char bytes[CMSG_SPACE(sizeof(int))];
  cmsghdr align;
};

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

// The segment size of a train the kernel joined (UDP_GRO), or 0.
size_t trainSegment(msghdr& m) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof(size));
      return size > 0 ? static_cast<size_t>(size) : 0;
    }
  }
  return 0;
}

// Errors with which the kernel refuses a UDP_SEGMENT train (no checksum offload on the route,
// segments larger than its MTU, too many of them) rather than the datagrams in it.
bool trainRefused(int error) {
  return error == EIO || error == EINVAL || error == EOPNOTSUPP || error == ENOPROTOOPT;
}

}  // namespace

struct DataPath::Impl {
  Impl(UniqueFd tun_fd, DataPathOptions o, const Clock& c, QueryHook q)
      : tun(std::move(tun_fd)),
        options(std::move(o)),
        clock(c),
        query_hook(std::move(q)),
        core(options.proxy, c),
        coalescer([this](const overlay::TcpCoalescer::Write& w) { writeTun(w.vnet, w.pieces); }) {}

  struct Held {
    std::vector<uint8_t> bytes;
    overlay::TunRead read;
  };
  // Packets waiting for an address's route. The route may come with the query's answer or later
  // with a table change: a fresh instance can send before its own RUNNING report has reached the
  // root, so the answer about it may not list it yet.
  struct Waiting {
    std::deque<Held> packets;
    Clock::TimePoint since;
    bool answered = false;  // the query came back; the route may follow with a table change
  };

  UniqueFd tun;
  UniqueFd udp;
  Inbox inbox;
  DataPathOptions options;
  const Clock& clock;
  QueryHook query_hook;
  overlay::ProxyCore core;
  std::thread thread;

  // Inbox, filled by other threads.
  mutable std::mutex stats_mutex;
  DataPathStats published_stats;

  // Thread-owned. Offloads found at start: the size of the device's virtio-net header (0: none),
  // UDP trains out and in.
  size_t vnet_size = 0;
  bool gso = false;
  bool gro = false;
  DataPathStats stats;
  // TUN reads: the virtio-net header, the packet, room for an ICMP error.
  std::vector<uint8_t> tun_in;
  // Tunnel reads: kBatch slots of in_slot bytes.
  size_t in_slot = kSlot;
  std::vector<uint8_t> in;
  std::array<iovec, kBatch> in_iov{};
  std::array<sockaddr_in6, kBatch> in_from{};
  std::array<Control, kBatch> in_control{};
  std::array<mmsghdr, kBatch> in_msgs{};
  // Small datagrams to peers, copied and sent in batches.
  std::array<std::array<uint8_t, kSlot>, kBatch> out{};
  std::array<iovec, kBatch> out_iov{};
  std::array<sockaddr_in6, kBatch> out_to{};
  std::array<mmsghdr, kBatch> out_msgs{};
  size_t out_count = 0;
  // Segments of super-packets: their headers here, their payloads where they were read.
  std::vector<uint8_t> segment_headers;
  std::array<iovec, 2 * kSendSegments> segment_iov{};
  std::array<Control, kSendSegments> segment_control{};
  std::array<mmsghdr, kSendSegments> segment_msgs{};
  // Writes to the TUN device.
  std::array<uint8_t, kMaxVnetHeader> vnet_out{};
  std::array<iovec, overlay::TcpCoalescer::kMaxSegments + 1> tun_iov{};
  overlay::TcpCoalescer coalescer;

  std::map<std::string, Waiting> held;
  std::shared_ptr<const overlay::ServiceTable> table;
  Clock::TimePoint last_sweep{};
  Clock::TimePoint last_probe{};

  Status detectOffloads();
  void run();
  void applyInbox();
  void publish();
  void readTun();
  void fromTun(size_t got);
  void dispatchTun(std::span<uint8_t> buffer, const overlay::Verdict& v,
                   const overlay::TunRead& read);
  void readTunnel();
  void fromTunnel(std::span<uint8_t> packet, const overlay::TunnelEndpoint& from);
  void queueToPeer(std::span<const uint8_t> data, const overlay::TunnelEndpoint& peer);
  void flushPeers();
  void sendSegments(std::span<const uint8_t> packet, const overlay::TunRead& read,
                    const overlay::TunnelEndpoint& peer);
  void sendTrains(size_t segments, size_t segment_length, const sockaddr_in6& to);
  void sendAll(mmsghdr* msgs, size_t count);
  void sendOneByOne(const msghdr& train);
  void writeTun(const overlay::VnetHeader& vnet, std::span<const std::span<const uint8_t>> pieces);
  void writeTun(std::span<const uint8_t> data, const overlay::VnetHeader& vnet = {}) {
    const std::span<const uint8_t> pieces[1] = {data};
    writeTun(vnet, pieces);
  }
  void expireHeld();
  void hold(const overlay::IpAddress& address, std::span<const uint8_t> packet,
            const overlay::TunRead& read);
  void release(const std::string& address, bool found);
  void probePeers();
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
  OAK_TRY(impl->inbox.open());
  setNonBlocking(impl->tun.get());
  OAK_TRY(impl->detectOffloads());
  impl->published_stats = impl->stats;

  Impl& d = *impl;
  d.tun_in.resize(d.vnet_size + kMaxPacket + kIcmpRoom);
  d.in_slot = d.gro ? kGroSlot : kSlot;
  d.in.resize(kBatch * d.in_slot);
  d.segment_headers.resize(kSendSegments * overlay::kMaxSegmentHeader);
  for (size_t i = 0; i < kBatch; ++i) {
    d.in_iov[i] = {d.in.data() + i * d.in_slot, d.in_slot};
    d.in_msgs[i].msg_hdr.msg_iov = &d.in_iov[i];
    d.in_msgs[i].msg_hdr.msg_iovlen = 1;
    d.in_msgs[i].msg_hdr.msg_name = &d.in_from[i];
    d.out_msgs[i].msg_hdr.msg_iov = &d.out_iov[i];
    d.out_msgs[i].msg_hdr.msg_iovlen = 1;
    d.out_msgs[i].msg_hdr.msg_name = &d.out_to[i];
    d.out_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in6);
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<DataPath>(new DataPath(std::move(impl)));
}

DataPath::DataPath(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DataPath::~DataPath() {
  impl_->inbox.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void DataPath::setTable(std::shared_ptr<const overlay::ServiceTable> table) {
  impl_->inbox.setTable(std::move(table));
}

void DataPath::queryDone(const std::string& address, bool found) {
  impl_->inbox.queryDone(address, found);
}

overlay::ProxyCounters DataPath::counters() const {
  return impl_->inbox.counters();
}

uint64_t DataPath::tablesApplied() const {
  return impl_->inbox.tablesApplied();
}

DataPathStats DataPath::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->published_stats;
}

uint16_t DataPath::tunnelPort() const {
  sockaddr_in6 sa{};
  socklen_t len = sizeof(sa);
  ::getsockname(impl_->udp.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin6_port);
}

Status DataPath::Impl::detectOffloads() {
  // A device opened with offloads says so; anything else (a fake, a plain device) has none.
  ifreq request{};
  if (::ioctl(tun.get(), TUNGETIFF, &request) == 0 && (request.ifr_flags & IFF_VNET_HDR) != 0) {
    int size = 0;
    int little_endian = 1;
    if (::ioctl(tun.get(), TUNGETVNETHDRSZ, &size) != 0 ||
        ::ioctl(tun.get(), TUNSETVNETLE, &little_endian) != 0 ||
        size < static_cast<int>(overlay::kVnetHeaderSize) ||
        size > static_cast<int>(kMaxVnetHeader)) {
      return makeError(ErrorCode::kInvalidArgument,
                       fmt::format("TUN device: virtio-net header of {} bytes not usable", size));
    }
    vnet_size = static_cast<size_t>(size);
  }
  int on = 1;
  gro = ::setsockopt(udp.get(), IPPROTO_UDP, UDP_GRO, &on, sizeof(on)) == 0;
  int segment = 0;
  socklen_t length = sizeof(segment);
  gso = ::getsockopt(udp.get(), IPPROTO_UDP, UDP_SEGMENT, &segment, &length) == 0;
  stats.tun_offload = vnet_size != 0;
  stats.udp_gso = gso;
  stats.udp_gro = gro;
  if (!gso) spdlog::info("overlay tunnel without UDP GSO: segments leave one by one");
  if (!gro) spdlog::info("overlay tunnel without UDP GRO: datagrams arrive one by one");
  return {};
}

void DataPath::Impl::run() {
  std::array<pollfd, 3> fds{pollfd{tun.get(), POLLIN, 0}, pollfd{udp.get(), POLLIN, 0},
                            pollfd{inbox.fd(), POLLIN, 0}};
  while (!inbox.stopping()) {
    int n = ::poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) {
      spdlog::error("{}", errnoText("data path poll"));
      return;
    }
    if (fds[2].revents & POLLIN) applyInbox();
    if (fds[0].revents & POLLIN) readTun();
    if (fds[1].revents & POLLIN) readTunnel();
    flushPeers();
    auto now = clock.now();
    if (now - last_sweep >= std::chrono::seconds(1)) {
      last_sweep = now;
      expireHeld();
      core.sweep();
      publish();
    }
    if (now - last_probe >= kProbeEvery) {
      last_probe = now;
      probePeers();
    }
  }
}

void DataPath::Impl::publish() {
  const overlay::TcpCoalescer::Counters& c = coalescer.counters();
  stats.coalesced_packets = c.super_packets;
  stats.coalesced_segments = c.merged;
  inbox.publish(core.counters());
  std::lock_guard lock(stats_mutex);
  published_stats = stats;
}

void DataPath::Impl::applyInbox() {
  auto [fresh, done] = inbox.take();
  if (fresh) {
    table = fresh;
    core.setTable(std::move(fresh));
    inbox.tableApplied();
    // Answered addresses whose route was missing: the new table may have it.
    std::vector<std::string> retry;
    for (const auto& [address, w] : held) {
      if (w.answered) retry.push_back(address);
    }
    for (const auto& address : retry) release(address, true);
  }
  for (const auto& [address, found] : done) release(address, found);
}

void DataPath::Impl::expireHeld() {
  auto now = clock.now();
  std::vector<std::string> expired;
  for (const auto& [address, w] : held) {
    if (now - w.since >= kHoldTimeout) expired.push_back(address);
  }
  for (const auto& address : expired) release(address, false);
}

void DataPath::Impl::readTun() {
  // One packet (or super-packet) per read; a bounded number and volume per wake-up so the tunnel
  // side (the acknowledgements of this very traffic) is not starved.
  size_t bytes = 0;
  for (size_t i = 0; i < kBatch && bytes < kTunBytesPerWake; ++i) {
    ssize_t got = ::read(tun.get(), tun_in.data(), vnet_size + kMaxPacket);
    if (got <= 0) return;
    bytes += static_cast<size_t>(got);
    fromTun(static_cast<size_t>(got));
  }
}

void DataPath::Impl::fromTun(size_t got) {
  if (got < vnet_size) return;
  const std::span<uint8_t> buffer = std::span<uint8_t>(tun_in).subspan(vnet_size);
  const size_t length = got - vnet_size;
  overlay::TunRead read;
  if (vnet_size != 0) {
    const auto header =
        overlay::decodeVnetHeader(std::span<const uint8_t, overlay::kVnetHeaderSize>(
            tun_in.data(), overlay::kVnetHeaderSize));
    const overlay::VnetError error = overlay::prepareTunRead(header, buffer.first(length), read);
    if (error != overlay::VnetError::kOk) {
      ++stats.offload_errors;
      spdlog::debug("TUN read of {} bytes refused: {}", length, overlay::toString(error));
      return;
    }
    if (read.isSuper()) ++stats.super_packets;
  }
  const overlay::Verdict v = core.fromTun(buffer, length, read);
  if (v.kind == overlay::Verdict::kQuery) return hold(v.query, buffer.first(length), read);
  dispatchTun(buffer, v, read);
}

void DataPath::Impl::dispatchTun(std::span<uint8_t> buffer, const overlay::Verdict& v,
                                 const overlay::TunRead& read) {
  switch (v.kind) {
    case overlay::Verdict::kToTun:
      // A super-packet goes back whole, its checksum still partial.
      writeTun(buffer.first(v.length), overlay::vnetHeaderOf(read));
      break;
    case overlay::Verdict::kIcmpToTun:
      writeTun(buffer.first(v.length));
      break;
    case overlay::Verdict::kToPeer:
      if (read.isSuper()) {
        sendSegments(buffer.first(v.length), read, v.peer);
      } else {
        queueToPeer(buffer.first(v.length), v.peer);
      }
      break;
    default:  // dropped (counted by the core), or a query the caller handles
      break;
  }
}

void DataPath::Impl::readTunnel() {
  for (size_t i = 0; i < kBatch; ++i) {
    msghdr& m = in_msgs[i].msg_hdr;
    m.msg_namelen = sizeof(sockaddr_in6);
    m.msg_control = gro ? in_control[i].bytes : nullptr;
    m.msg_controllen = gro ? sizeof(in_control[i].bytes) : 0;
  }
  int n = ::recvmmsg(udp.get(), in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  for (int i = 0; i < n; ++i) {
    const auto from = fromSockaddr(in_from[i]);
    const std::span<uint8_t> data(in.data() + static_cast<size_t>(i) * in_slot, in_msgs[i].msg_len);
    const size_t segment = gro ? trainSegment(in_msgs[i].msg_hdr) : 0;
    if (segment == 0 || segment >= data.size()) {
      fromTunnel(data, from);
      continue;
    }
    for (size_t at = 0; at < data.size(); at += segment) {
      fromTunnel(data.subspan(at, std::min(segment, data.size() - at)), from);
    }
  }
  // The coalescer points into the slots: everything out before they are read into again.
  coalescer.flush();
}

void DataPath::Impl::fromTunnel(std::span<uint8_t> packet, const overlay::TunnelEndpoint& from) {
  const overlay::Verdict v = core.fromTunnel(packet, packet.size(), from);
  if (v.kind == overlay::Verdict::kToTun) {
    if (vnet_size != 0) {
      coalescer.add(packet.first(v.length));
    } else {
      writeTun(packet.first(v.length));
    }
  } else if (v.kind == overlay::Verdict::kToPeer) {
    queueToPeer(packet.first(v.length), v.peer);
  }
}

void DataPath::Impl::writeTun(const overlay::VnetHeader& vnet,
                              std::span<const std::span<const uint8_t>> pieces) {
  size_t count = 0;
  if (vnet_size != 0) {
    overlay::encodeVnetHeader(vnet, std::span<uint8_t, overlay::kVnetHeaderSize>(
                                        vnet_out.data(), overlay::kVnetHeaderSize));
    tun_iov[count++] = {vnet_out.data(), vnet_size};
  }
  for (const auto& piece : pieces) {
    tun_iov[count++] = {const_cast<uint8_t*>(piece.data()), piece.size()};
  }
  if (::writev(tun.get(), tun_iov.data(), static_cast<int>(count)) < 0 && errno != EAGAIN) {
    spdlog::debug("{}", errnoText("write to the TUN device"));
  }
}

void DataPath::Impl::queueToPeer(std::span<const uint8_t> data,
                                 const overlay::TunnelEndpoint& peer) {
  if (data.size() > kSlot) {
    // Larger than the device's usual MTU: sent as it is, after what is queued.
    flushPeers();
    const sockaddr_in6 to = toSockaddr(peer);
    ::sendto(udp.get(), data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to),
             sizeof(to));
    return;
  }
  if (out_count == kBatch) flushPeers();
  std::memcpy(out[out_count].data(), data.data(), data.size());
  out_iov[out_count] = {out[out_count].data(), data.size()};
  out_to[out_count] = toSockaddr(peer);
  ++out_count;
}

void DataPath::Impl::flushPeers() {
  sendAll(out_msgs.data(), out_count);
  out_count = 0;
}

void DataPath::Impl::sendSegments(std::span<const uint8_t> packet, const overlay::TunRead& read,
                                  const overlay::TunnelEndpoint& peer) {
  flushPeers();  // what was queued before goes first
  const overlay::Segmenter segmenter(packet, read);
  const sockaddr_in6 to = toSockaddr(peer);
  for (size_t first = 0; first < segmenter.count();) {
    const size_t n = std::min(kSendSegments, segmenter.count() - first);
    for (size_t k = 0; k < n; ++k) {
      uint8_t* header = segment_headers.data() + k * overlay::kMaxSegmentHeader;
      const auto payload =
          segmenter.segment(first + k, std::span<uint8_t>(header, read.header_length));
      segment_iov[2 * k] = {header, read.header_length};
      segment_iov[2 * k + 1] = {const_cast<uint8_t*>(payload.data()), payload.size()};
    }
    sendTrains(n, read.largestSegment(), to);
    first += n;
  }
  stats.segments_sent += segmenter.count();
}

void DataPath::Impl::sendTrains(size_t segments, size_t segment_length, const sockaddr_in6& to) {
  // All segments but the last of a super-packet have the same length, as a train needs.
  const size_t per_train =
      gso ? std::clamp<size_t>(kMaxUdpPayload / segment_length, 1, kTrainSegments) : 1;
  size_t trains = 0;
  for (size_t k = 0; k < segments; k += per_train, ++trains) {
    const size_t count = std::min(per_train, segments - k);
    msghdr& m = segment_msgs[trains].msg_hdr;
    m = msghdr{};
    m.msg_name = const_cast<sockaddr_in6*>(&to);
    m.msg_namelen = sizeof(to);
    m.msg_iov = &segment_iov[2 * k];
    m.msg_iovlen = 2 * count;
    if (count > 1) {
      m.msg_control = segment_control[trains].bytes;
      m.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      cmsghdr* c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = IPPROTO_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto size = static_cast<uint16_t>(segment_length);
      std::memcpy(CMSG_DATA(c), &size, sizeof(size));
    }
  }
  sendAll(segment_msgs.data(), trains);
}

void DataPath::Impl::sendAll(mmsghdr* msgs, size_t count) {
  size_t sent = 0;
  while (sent < count) {
    int n = ::sendmmsg(udp.get(), msgs + sent, static_cast<unsigned>(count - sent), 0);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == ENOBUFS) {
      // The socket's buffer is full: wait for room rather than spin against the kernel.
      pollfd writable{udp.get(), POLLOUT, 0};
      if (::poll(&writable, 1, 100) > 0) continue;
      spdlog::debug("tunnel send: no room for 100 ms; {} datagrams dropped", count - sent);
      return;
    }
    msghdr& failed = msgs[sent].msg_hdr;
    if (failed.msg_controllen != 0 && trainRefused(errno)) {
      if (gso) {
        spdlog::warn("{}; the tunnel sends segments one by one from now on",
                     errnoText("UDP segmentation refused"));
      }
      gso = false;
      stats.udp_gso = false;
      sendOneByOne(failed);
    } else {
      // One unreachable peer must not take the rest of the batch with it.
      spdlog::debug("{}", errnoText("tunnel send"));
    }
    ++sent;
  }
}

void DataPath::Impl::sendOneByOne(const msghdr& train) {
  for (size_t k = 0; k + 1 < train.msg_iovlen; k += 2) {
    msghdr m{};
    m.msg_name = train.msg_name;
    m.msg_namelen = train.msg_namelen;
    m.msg_iov = &train.msg_iov[k];
    m.msg_iovlen = 2;
    if (::sendmsg(udp.get(), &m, 0) < 0) spdlog::debug("{}", errnoText("tunnel send"));
  }
}

void DataPath::Impl::hold(const overlay::IpAddress& address, std::span<const uint8_t> packet,
                          const overlay::TunRead& read) {
  std::string key = overlay::toString(address);
  auto it = held.find(key);
  if (it == held.end()) {
    if (held.size() >= kHeldAddresses) return;  // dropped; the sender retries
    it = held.emplace(key, Waiting{{}, clock.now(), false}).first;
    query_hook(key);
  }
  if (it->second.packets.size() < kHeldPerAddress) {
    it->second.packets.push_back(Held{std::vector<uint8_t>(packet.begin(), packet.end()), read});
  }
}

void DataPath::Impl::release(const std::string& address, bool found) {
  auto it = held.find(address);
  if (it == held.end()) return;
  Waiting waiting = std::move(it->second);
  held.erase(it);
  const std::span<uint8_t> buffer = std::span<uint8_t>(tun_in).subspan(vnet_size);
  std::deque<Held> still;
  for (auto& p : waiting.packets) {
    std::memcpy(buffer.data(), p.bytes.data(), p.bytes.size());
    auto v = found ? core.fromTun(buffer, p.bytes.size(), p.read)
                   : core.buildUnreachable(buffer, p.bytes.size());
    if (v.kind == overlay::Verdict::kQuery) {
      // Answered, but the routes do not name it yet: it waits for a table change (bounded by
      // kHoldTimeout, then "unreachable").
      still.push_back(std::move(p));
      continue;
    }
    dispatchTun(buffer, v, p.read);
  }
  if (!still.empty()) held.emplace(address, Waiting{std::move(still), waiting.since, true});
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
