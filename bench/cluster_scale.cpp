// Scale benchmark of one cluster orchestrator (see docs/benchmarks.md, bench/cluster_scale.sh).
//
// N simulated workers speak the worker protocol for real: each registers over HTTP, connects to
// the cluster's broker with its own account (the client id the registration names, keepalive
// 60 s, clean session), subscribes to its control topics and sends what an idle `oakestra worker`
// sends: the full information report (built by `WorkerAgent::information`) at once and then
// every `--full-every` seconds, and in every other report interval an empty heartbeat (QoS 0),
// spread evenly over the workers.
// One epoll loop drives all connections with a minimal MQTT 3.1.1 client: it costs a few hundred
// bytes per worker, so the load generator stays small next to what it measures.
//
// Measured: registration rate, time until every worker is connected and subscribed, then over a
// steady window the CPU and RSS of the cluster and of its broker (/proc/<pid>/stat and status),
// and the bytes on each worker's link (TCP_INFO of every socket: payload bytes plus one IP+TCP
// header per segment, pure ACKs included). Output: readable lines plus `result <key> <value>`
// lines for the script.
//
// Floor mode (`--credentials-in` with `--mqtt-port`): no cluster; the same workers and one
// subscriber standing in for the cluster (`--sink-user`), against a broker the caller started.

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/files.h"
#include "common/json.h"
#include "common/result.h"
#include "http/client.h"
#include "http/event_loop.h"
#include "worker/agent/agent.h"
#include "worker/runtime/composing_runtime.h"

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::duration;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace bj = boost::json;

double secondsSince(Steady::time_point t) {
  return duration<double>(Steady::now() - t).count();
}

void result(std::string_view key, double value) {
  fmt::print("result {} {:.6g}\n", key, value);
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string cluster_url = "http://127.0.0.1:10100";
  std::string token_file;
  size_t workers = 1000;
  int interval_s = 15;
  int full_every_s = 300;  // the agent's default; 0: a full report every interval
  int keepalive_s = 60;
  int window_s = 60;
  int warmup_s = -1;  // default: one report interval
  int connect_concurrency = 64;
  int connect_timeout_s = 900;
  int stall_s = 30;
  int late_registrations = 10;
  int probe_ms = 20;  // QoS 1 probe period while late registrations run (stall measurement)
  int scrapes = 0;    // GET /metrics requests at the end
  int cluster_pid = 0;
  int broker_pid = 0;
  std::string mqtt_host;  // default: what the registration answered
  uint16_t mqtt_port = 0;
  std::string credentials_out;
  std::string credentials_in;
  std::string sink_user;
  std::string sink_password_file;
};

// ---------------------------------------------------------------------------------------------
// Process and socket counters

struct ProcSample {
  double cpu_s = 0;           // utime + stime
  double children_cpu_s = 0;  // cutime + cstime: children it has waited for
  long rss_kb = 0;
};

ProcSample sampleProc(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold blanks): state is field 3, utime 14, stime 15,
  // cutime 16, cstime 17.
  size_t close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double ticks[18] = {};
    for (int i = 3; i <= 17 && rest >> field; ++i) {
      if (i >= 14) ticks[i] = std::stod(field);  // field 3 is the state letter
    }
    auto hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.cpu_s = (ticks[14] + ticks[15]) / hz;
    s.children_cpu_s = (ticks[16] + ticks[17]) / hz;
  }
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) s.rss_kb = std::stol(line.substr(6));
  }
  return s;
}

// Bytes on the wire of the loopback device (includes every other user of it).
uint64_t loopbackTxBytes() {
  std::ifstream dev("/proc/net/dev");
  for (std::string line; std::getline(dev, line);) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v = 0, tx = 0;
    for (int i = 0; i < 9 && fields >> v; ++i) tx = v;  // rx: 8 fields, then tx bytes
    return tx;
  }
  return 0;
}

struct LinkCounters {
  uint64_t bytes = 0;  // TCP payload both ways
  uint64_t segments = 0;
  uint64_t bytes_up = 0;  // worker to broker
  uint64_t segments_up = 0;
  unsigned header_bytes = 40;  // IPv4 + TCP (+12 with timestamps)
};

void addTcpInfo(int fd, LinkCounters& c) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return;
  c.bytes += info.tcpi_bytes_acked + info.tcpi_bytes_received;
  c.segments += info.tcpi_segs_out + info.tcpi_segs_in;
  c.bytes_up += info.tcpi_bytes_acked;
  c.segments_up += info.tcpi_segs_out;
  c.header_bytes = (info.tcpi_options & TCPI_OPT_TIMESTAMPS) ? 52 : 40;
}

// ---------------------------------------------------------------------------------------------
// Registration

struct Account {
  std::string id, user, password, client_id;
};

struct Registration {
  std::vector<Account> accounts;
  std::string mqtt_host;
  uint16_t mqtt_port = 0;
  std::vector<double> latencies_s;
};

class Registrar {
 public:
  Registrar(oak::http::Url url, std::string token)
      : url_(std::move(url)), token_(std::move(token)) {}

  oak::Result<oak::http::Response> send(oak::http::ClientRequest req) {
    req.target = url_.base_path + req.target;
    req.headers.emplace_back("Authorization", "Bearer " + token_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!conn_) {
        OAK_ASSIGN_OR_RETURN(conn_,
                             oak::http::Connection::open(url_.host, url_.port, seconds(120)));
      }
      auto r = conn_->send(req);
      if (r) return r;
      conn_.reset();  // the server may have closed a kept-alive connection: retry once
      if (attempt == 1) return r.error();
    }
    return oak::makeError(oak::ErrorCode::kInternal, "unreachable");
  }

  // One worker; fills `reg` with its account and the broker's address.
  oak::Status registerOne(const std::string& name, Registration& reg) {
    oak::http::ClientRequest req;
    req.method = oak::http::Method::kPost;
    req.target = "/api/v1/workers/register";
    req.body = bj::serialize(bj::object{{"name", name}});
    auto t = Steady::now();
    OAK_ASSIGN_OR_RETURN(auto resp, send(std::move(req)));
    reg.latencies_s.push_back(secondsSince(t));
    if (resp.status != 200) {
      return oak::makeError(oak::ErrorCode::kInternal,
                            fmt::format("register {}: HTTP {}: {}", name, resp.status, resp.body));
    }
    OAK_ASSIGN_OR_RETURN(auto v, oak::json::parse(resp.body));
    const auto* mqtt = v.is_object() ? oak::json::findObject(v.get_object(), "mqtt") : nullptr;
    if (mqtt == nullptr) return oak::makeError(oak::ErrorCode::kInternal, "register: no mqtt");
    Account a;
    a.id = oak::json::getString(v.get_object(), "worker_id").value_or("");
    a.user = oak::json::getString(*mqtt, "username").value_or("");
    a.password = oak::json::getString(*mqtt, "password").value_or("");
    a.client_id = oak::json::getString(*mqtt, "client_id").value_or(a.id + "-ne");
    reg.mqtt_host = oak::json::getString(*mqtt, "host").value_or("127.0.0.1");
    reg.mqtt_port = static_cast<uint16_t>(oak::json::getInt(*mqtt, "port").value_or(0));
    reg.accounts.push_back(std::move(a));
    return {};
  }

 private:
  oak::http::Url url_;
  std::string token_;
  std::unique_ptr<oak::http::Connection> conn_;
};

// ---------------------------------------------------------------------------------------------
// The information report, built by the worker's own code so that its shape and size are real.

constexpr std::string_view kIdMark = "@ID@";

class NullBus final : public oak::mqtt::MessageBus {
 public:
  void publish(const std::string&, std::string, int) override {}
  void subscribe(const std::string&, int) override {}
  void onMessage(std::function<void(const oak::mqtt::Message&)>) override {}
  void onConnectionChange(std::function<void(bool)>) override {}
  bool connected() const override { return true; }
};

// Only its name shows in the report ("runtimes": ["docker"]); nothing is ever launched.
class NamedRuntime final : public oak::worker::Runtime {
 public:
  std::string name() const override { return "docker"; }
  bool available() const override { return true; }
  void recover(
      std::function<void(oak::Result<std::vector<oak::worker::InstanceSpec>>)> done) override {
    done(std::vector<oak::worker::InstanceSpec>{});
  }
  void launch(const oak::worker::InstanceSpec&,
              std::function<void(oak::Result<oak::worker::LaunchResult>)> done) override {
    done(oak::worker::LaunchResult::kNotSupported);
  }
  void wait(const std::string&, std::function<void(oak::worker::ExitInfo)> on_exit) override {
    on_exit({-1, "unknown instance"});
  }
  void destroy(const std::string&, std::function<void(oak::Status)> done) override {
    done(oak::makeError(oak::ErrorCode::kNotFound, "task id: not running"));
  }
  void usage(const std::string&,
             std::function<void(oak::Result<oak::worker::Usage>)> done) override {
    done(oak::makeError(oak::ErrorCode::kNotFound, "task id: not running"));
  }
  std::vector<std::string> list() const override { return {}; }
};

class NullProbe final : public oak::worker::HostProbe {
 public:
  oak::Result<oak::worker::HostSnapshot> sample() override { return oak::worker::HostSnapshot{}; }
};

// A small edge node: 4 cores, 8 GB, 64 GB disk, docker, with a location.
std::string reportTemplate(const std::string& name) {
  oak::EventLoop loop(1);
  NullBus bus;
  NullProbe probe;
  std::vector<std::unique_ptr<oak::worker::Runtime>> runtimes;
  runtimes.push_back(std::make_unique<NamedRuntime>());
  oak::worker::ComposingRuntime runtime(std::move(runtimes));
  oak::worker::AgentOptions ao{std::string(kIdMark), std::pair{48.262, 11.668}, seconds(15)};
  oak::worker::WorkerAgent agent(loop, oak::SystemClock::instance(), bus, probe, runtime, ao);
  oak::worker::HostSnapshot s;
  s.hostname = name;
  s.arch = "amd64";
  s.cores = 4;
  s.cpu_usage_percent = 3.25;
  s.memory_total_mb = 7865;
  s.memory_available_mb = 6012;
  s.disk_total_mb = 59819;
  s.disk_free_mb = 41234;
  return bj::serialize(agent.information(s));
}

std::string reportFor(const std::string& tmpl, const std::string& id) {
  std::string out = tmpl;
  out.replace(out.find(kIdMark), kIdMark.size(), id);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Minimal MQTT 3.1.1 encoding (what a worker sends and answers)

void appendLength(std::string& out, size_t n) {
  do {
    uint8_t b = n % 128;
    n /= 128;
    if (n > 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (n > 0);
}

void appendU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

void appendString(std::string& out, std::string_view s) {
  appendU16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

std::string packet(uint8_t type_flags, const std::string& body) {
  std::string out(1, static_cast<char>(type_flags));
  appendLength(out, body.size());
  return out + body;
}

std::string connectPacket(const std::string& client_id, const std::string& user,
                          const std::string& password, uint16_t keepalive) {
  std::string b;
  appendString(b, "MQTT");
  b.push_back(4);                  // protocol level 3.1.1
  b.push_back('\x80' | 0x40 | 2);  // username, password, clean session
  appendU16(b, keepalive);
  appendString(b, client_id);
  appendString(b, user);
  appendString(b, password);
  return packet(0x10, b);
}

std::string subscribePacket(uint16_t id, std::string_view filter) {
  std::string b;
  appendU16(b, id);
  appendString(b, filter);
  b.push_back(1);  // QoS 1
  return packet(0x82, b);
}

std::string publishPacket(uint16_t id, std::string_view topic, std::string_view payload) {
  std::string b;
  appendString(b, topic);
  appendU16(b, id);
  b.append(payload);
  return packet(0x32, b);  // QoS 1
}

std::string publishQos0Packet(std::string_view topic, std::string_view payload) {
  std::string b;
  appendString(b, topic);
  b.append(payload);
  return packet(0x30, b);
}

std::string pubackPacket(uint16_t id) {
  std::string b;
  appendU16(b, id);
  return packet(0x40, b);
}

// ---------------------------------------------------------------------------------------------
// The swarm: every simulated worker on one epoll loop

enum class State { kIdle, kConnecting, kAwaitConnack, kAwaitSuback, kReady };

struct Client {
  int fd = -1;
  State state = State::kIdle;
  bool sink = false;  // floor mode: stands in for the cluster's subscription
  int subacks = 0;
  uint16_t next_id = 1;
  Account account;
  std::string topic;      // of the full report
  std::string heartbeat;  // the heartbeat packet
  std::string payload;
  std::string out;
  std::string in;
  Steady::time_point last_out, last_in, retry_at;
  Steady::time_point report_sent;  // of the report awaiting its PUBACK
};

struct Counters {
  uint64_t reports = 0, heartbeats = 0, pubacks = 0, pings = 0, control_messages = 0;
  uint64_t sink_messages = 0;
  uint64_t mqtt_bytes_up = 0, mqtt_bytes_down = 0;
  uint64_t connect_errors = 0, refused = 0, drops = 0;
};

class Swarm {
 public:
  Swarm(sockaddr_in broker, seconds interval, seconds full_every, seconds keepalive)
      : broker_(broker),
        interval_(interval),
        rounds_per_full_(full_every.count() <= 0
                             ? 1
                             : std::max<int64_t>(1, full_every.count() / interval.count())),
        keepalive_(keepalive),
        epoll_(::epoll_create1(0)) {}
  ~Swarm() {
    for (auto& c : clients_) closeFd(c);
    ::close(epoll_);
  }

  // Workers first, then sinks (the report schedule indexes the workers).
  void add(Client c) {
    if (!c.sink) ++workers_;
    clients_.push_back(std::move(c));
  }
  size_t workers() const { return workers_; }
  size_t ready() const { return ready_; }
  bool allReady() const { return ready_ + sinks_ready_ == clients_.size(); }
  Steady::time_point lastProgress() const { return last_progress_; }
  // Time from each report to its PUBACK since the last call, in ms.
  std::vector<float> takeAckLatencies() { return std::exchange(ack_latencies_ms_, {}); }
  const Counters& counters() const { return counters_; }
  // A QoS 1 report from the first connected worker every `period` (0: off), on top of the
  // schedule: its PUBACKs show how long the broker stalls.
  void setProbe(milliseconds period) {
    probe_ = period;
    next_probe_ = Steady::now();
  }

  // Connections are opened `concurrency` at a time; reports follow an even schedule from now.
  void start(int concurrency) {
    concurrency_ = concurrency;
    schedule_start_ = last_progress_ = Steady::now();
    for (size_t i = 0; i < clients_.size(); ++i) pending_.push_back(i);
    // The sink first, so that it hears every report.
    std::stable_partition(pending_.begin(), pending_.end(),
                          [this](size_t i) { return clients_[i].sink; });
  }

  // Runs the loop until `done()` or `until`.
  template <typename Done>
  void run(Steady::time_point until, Done done) {
    std::vector<epoll_event> events(1024);
    while (Steady::now() < until && !done()) {
      openPending();
      auto now = Steady::now();
      publishDue(now);
      probe(now);
      if (now >= next_housekeeping_) housekeeping(now);
      // Rounded up: a wait of 0 would spin until the next report is due.
      auto wait = std::chrono::ceil<milliseconds>(nextSlot() - Steady::now()).count();
      int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                           static_cast<int>(std::clamp<int64_t>(wait, 0, 5)));
      for (int i = 0; i < n; ++i) onEvent(events[i].data.u64, events[i].events);
    }
  }

  LinkCounters link() const {
    LinkCounters c;
    for (const auto& cl : clients_) {
      if (!cl.sink && cl.state == State::kReady) addTcpInfo(cl.fd, c);
    }
    return c;
  }

 private:
  Steady::time_point nextSlot() const {
    size_t n = std::max<size_t>(workers(), 1);
    return schedule_start_ +
           std::chrono::duration_cast<Steady::duration>(
               duration<double>(interval_) * static_cast<double>(slot_) / static_cast<double>(n));
  }

  void publishDue(Steady::time_point now) {
    size_t n = workers();
    if (n == 0) return;
    while (nextSlot() <= now) {
      size_t index = slot_ % n;  // sinks are added after the workers
      uint64_t round = slot_ / n;
      Client& c = clients_[index];
      ++slot_;
      if (c.state != State::kReady) continue;
      // Worker i's full reports fall in rounds i, i + k, i + 2k, ...: evenly spread.
      if ((round + index) % static_cast<uint64_t>(rounds_per_full_) == 0) {
        report(c);
      } else {
        send(c, c.heartbeat);
        ++counters_.heartbeats;
      }
    }
  }

  void probe(Steady::time_point now) {
    if (probe_.count() == 0 || now < next_probe_) return;
    next_probe_ = now + probe_;
    for (auto& c : clients_) {
      if (c.sink || c.state != State::kReady) continue;
      report(c);
      return;
    }
  }

  void report(Client& c) {
    c.report_sent = Steady::now();
    send(c, publishPacket(c.next_id++, c.topic, c.payload));
    if (c.next_id == 0) c.next_id = 1;
    ++counters_.reports;
  }

  void openPending() {
    while (!pending_.empty() && in_flight_ < concurrency_) {
      size_t i = pending_.front();
      if (clients_[i].retry_at > Steady::now()) break;
      pending_.pop_front();
      open(i);
    }
  }

  void open(size_t i) {
    Client& c = clients_[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      fmt::print(stderr, "socket: {}\n", std::strerror(errno));
      return fail(i);
    }
    int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&broker_), sizeof(broker_));
    if (rc != 0 && errno != EINPROGRESS) return fail(i);
    c.state = State::kConnecting;
    ++in_flight_;
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void closeFd(Client& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
  }

  // Lost or refused: reconnect after a second, as the worker's client does.
  void fail(size_t i) {
    Client& c = clients_[i];
    if (c.state == State::kReady) {
      --(c.sink ? sinks_ready_ : ready_);
      ++counters_.drops;
    } else {
      ++counters_.connect_errors;
    }
    if (c.state != State::kIdle && c.state != State::kReady) --in_flight_;
    closeFd(c);
    c.state = State::kIdle;
    c.in.clear();
    c.out.clear();
    c.retry_at = Steady::now() + seconds(1);
    pending_.push_back(i);
  }

  void send(Client& c, std::string_view bytes) {
    c.last_out = Steady::now();
    if (!c.sink) counters_.mqtt_bytes_up += bytes.size();
    if (!c.out.empty()) return c.out.append(bytes), void();
    ssize_t n = ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) return;  // the read side notices the error
    size_t sent = n < 0 ? 0 : static_cast<size_t>(n);
    if (sent == bytes.size()) return;
    c.out.assign(bytes.substr(sent));
    watch(c, EPOLLIN | EPOLLOUT);
  }

  void watch(Client& c, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = static_cast<uint64_t>(&c - clients_.data());
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void onEvent(size_t i, uint32_t events) {
    Client& c = clients_[i];
    if (c.fd < 0) return;
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) return fail(i);
      c.state = State::kAwaitConnack;
      watch(c, EPOLLIN);
      std::string client_id = c.sink ? c.account.user : c.account.client_id;
      send(c, connectPacket(client_id, c.account.user, c.account.password,
                            static_cast<uint16_t>(keepalive_.count())));
      return;
    }
    if ((events & EPOLLOUT) && !c.out.empty()) {
      ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) c.out.erase(0, static_cast<size_t>(n));
      if (c.out.empty()) watch(c, EPOLLIN);
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) readFrom(i);
  }

  void readFrom(size_t i) {
    Client& c = clients_[i];
    char buf[65536];
    while (true) {
      ssize_t n = ::recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (!c.sink) counters_.mqtt_bytes_down += static_cast<size_t>(n);
        if (static_cast<size_t>(n) < sizeof(buf)) break;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return fail(i);  // closed or reset
    }
    c.last_in = Steady::now();
    size_t pos = 0;
    while (c.in.size() - pos >= 2) {
      size_t len = 0, mult = 1, k = pos + 1;
      bool complete = false;
      for (; k < c.in.size() && k < pos + 5; ++k) {
        auto b = static_cast<uint8_t>(c.in[k]);
        len += (b & 0x7f) * mult;
        mult *= 128;
        if (!(b & 0x80)) {
          complete = true;
          ++k;
          break;
        }
      }
      if (!complete || c.in.size() - k < len) break;
      if (!onPacket(i, static_cast<uint8_t>(c.in[pos]), std::string_view(c.in).substr(k, len)))
        return fail(i);
      pos = k + len;
    }
    c.in.erase(0, pos);
  }

  bool onPacket(size_t i, uint8_t header, std::string_view body) {
    Client& c = clients_[i];
    switch (header >> 4) {
      case 2:  // CONNACK
        if (body.size() < 2 || body[1] != 0) {
          // 5 (not authorized): the broker has not loaded the worker's account.
          if (counters_.refused++ < 5) {
            fmt::print(stderr, "worker {}: CONNACK refused with code {}\n", c.account.user,
                       body.size() < 2 ? -1 : static_cast<int>(body[1]));
          }
          return false;
        }
        c.state = State::kAwaitSuback;
        // As the agent does: its two control topics, and its first report at once.
        if (c.sink) {
          std::string both = subscribePacket(c.next_id++, "nodes/+/information");
          both += subscribePacket(c.next_id++, "nodes/+/heartbeat");
          send(c, both);
          c.subacks = 2;
        } else {
          c.subacks = 2;
          std::string burst =
              subscribePacket(c.next_id++, "nodes/" + c.account.id + "/control/deploy");
          burst += subscribePacket(c.next_id++, "nodes/" + c.account.id + "/control/delete");
          send(c, burst);
          report(c);
        }
        return true;
      case 9:  // SUBACK
        if (c.state == State::kAwaitSuback && --c.subacks == 0) {
          c.state = State::kReady;
          --in_flight_;
          ++(c.sink ? sinks_ready_ : ready_);
          last_progress_ = Steady::now();
        }
        return true;
      case 4:  // PUBACK
        ++counters_.pubacks;
        ack_latencies_ms_.push_back(
            duration<float, std::milli>(Steady::now() - c.report_sent).count());
        return true;
      case 13:  // PINGRESP
        return true;
      case 3: {  // PUBLISH from the broker: control message, or a report for the sink
        if (body.size() < 2) return false;
        size_t tlen = (static_cast<uint8_t>(body[0]) << 8) | static_cast<uint8_t>(body[1]);
        if (((header >> 1) & 3) > 0 && body.size() >= 4 + tlen) {
          auto id = static_cast<uint16_t>((static_cast<uint8_t>(body[2 + tlen]) << 8) |
                                          static_cast<uint8_t>(body[3 + tlen]));
          send(c, pubackPacket(id));
        }
        ++(c.sink ? counters_.sink_messages : counters_.control_messages);
        return true;
      }
      default:
        return true;
    }
  }

  // Keepalive as libmosquitto does it: PINGREQ when nothing went out, or nothing came in, for a
  // keepalive period.
  void housekeeping(Steady::time_point now) {
    next_housekeeping_ = now + seconds(1);
    for (auto& c : clients_) {
      if (c.state != State::kReady) continue;
      if (now - c.last_out >= keepalive_ || now - c.last_in >= keepalive_) {
        send(c, std::string("\xc0\x00", 2));
        ++counters_.pings;
      }
    }
  }

  sockaddr_in broker_;
  seconds interval_;
  int64_t rounds_per_full_;
  seconds keepalive_;
  milliseconds probe_{0};
  Steady::time_point next_probe_;
  int epoll_;
  std::vector<Client> clients_;
  size_t workers_ = 0;
  std::deque<size_t> pending_;
  int concurrency_ = 64;
  int in_flight_ = 0;
  size_t ready_ = 0;  // workers connected and subscribed
  size_t sinks_ready_ = 0;
  Steady::time_point last_progress_;
  std::vector<float> ack_latencies_ms_;
  uint64_t slot_ = 0;
  Steady::time_point schedule_start_, next_housekeeping_;
  Counters counters_;
};

// ---------------------------------------------------------------------------------------------
// Phases

struct Watched {
  int cluster_pid, broker_pid;
  ProcSample cluster, broker;
  Steady::time_point at;
  static Watched take(int cluster_pid, int broker_pid) {
    return {cluster_pid, broker_pid, sampleProc(cluster_pid), sampleProc(broker_pid),
            Steady::now()};
  }
};

struct Delta {
  double seconds, cluster_cpu_s, cluster_children_cpu_s, broker_cpu_s;
};

Delta since(const Watched& before) {
  Watched now = Watched::take(before.cluster_pid, before.broker_pid);
  return {duration<double>(now.at - before.at).count(), now.cluster.cpu_s - before.cluster.cpu_s,
          now.cluster.children_cpu_s - before.cluster.children_cpu_s,
          now.broker.cpu_s - before.broker.cpu_s};
}

template <typename T>
double percentile(std::vector<T> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

oak::Result<Registration> registerAll(Registrar& registrar, const Options& o) {
  Registration reg;
  Watched before = Watched::take(o.cluster_pid, o.broker_pid);
  size_t tenth = std::max<size_t>(o.workers / 10, 1);
  auto t = Steady::now();
  double first_tenth_s = 0;
  Steady::time_point last_tenth_start;
  for (size_t i = 0; i < o.workers; ++i) {
    if (i == o.workers - tenth) last_tenth_start = Steady::now();
    OAK_TRY(registrar.registerOne(fmt::format("scale-{:05d}", i), reg));
    if (i + 1 == tenth) first_tenth_s = secondsSince(t);
    if ((i + 1) % tenth == 0) {
      fmt::print(stderr, "registered {}/{} ({:.1f} s)\n", i + 1, o.workers, secondsSince(t));
    }
  }
  double total = secondsSince(t);
  Delta d = since(before);
  fmt::print(
      "registration: {} workers in {:.1f} s ({:.0f}/s; first tenth {:.0f}/s, last tenth "
      "{:.0f}/s), latency p50 {:.1f} ms p99 {:.1f} ms max {:.1f} ms\n",
      o.workers, total, o.workers / total, tenth / first_tenth_s,
      tenth / secondsSince(last_tenth_start), percentile(reg.latencies_s, 0.5) * 1e3,
      percentile(reg.latencies_s, 0.99) * 1e3, percentile(reg.latencies_s, 1.0) * 1e3);
  fmt::print(
      "  CPU meanwhile: cluster {:.1f} s, its children {:.1f} s, "
      "broker {:.1f} s\n",
      d.cluster_cpu_s, d.cluster_children_cpu_s, d.broker_cpu_s);
  result("reg_seconds", total);
  result("reg_per_s", o.workers / total);
  result("reg_first_tenth_per_s", tenth / first_tenth_s);
  result("reg_last_tenth_per_s", tenth / secondsSince(last_tenth_start));
  result("reg_p50_ms", percentile(reg.latencies_s, 0.5) * 1e3);
  result("reg_p99_ms", percentile(reg.latencies_s, 0.99) * 1e3);
  result("reg_cluster_cpu_s", d.cluster_cpu_s);
  result("reg_children_cpu_s", d.cluster_children_cpu_s);
  result("reg_broker_cpu_s", d.broker_cpu_s);
  return reg;
}

oak::Result<std::vector<Account>> loadCredentials(const std::string& path) {
  OAK_ASSIGN_OR_RETURN(auto text, oak::files::read(path));
  std::vector<Account> out;
  std::istringstream in(text);
  for (Account a; in >> a.id >> a.user >> a.password >> a.client_id;) out.push_back(a);
  return out;
}

oak::Status saveCredentials(const std::string& path, const std::vector<Account>& accounts) {
  std::string text;
  for (const auto& a : accounts) {
    text += fmt::format("{} {} {} {}\n", a.id, a.user, a.password, a.client_id);
  }
  return oak::files::writeAtomic(path, text, 0600);
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Bytes on a worker's link per second, from the packet sizes. A full report: PUBLISH, its PUBACK
// and the bare ACK of the PUBACK (the delayed ACK rides on the PUBACK). A heartbeat: PUBLISH
// (QoS 0) and the broker's bare ACK. Keepalive: PINGREQ and PINGRESP (2 bytes each, the second
// ACKed alone) whenever nothing came in for a keepalive period; only PUBACKs come in.
double modelBytesPerSecond(size_t topic, size_t payload, size_t heartbeat, const Options& o,
                           unsigned header) {
  size_t body = 2 + topic + 2 + payload;
  std::string len;
  appendLength(len, body);
  double report = static_cast<double>(1 + len.size() + body + 4 + 3 * header);
  double beat = static_cast<double>(heartbeat + 2 * header);
  double rounds = o.full_every_s <= 0 ? 1 : std::max(1, o.full_every_s / o.interval_s);
  double cycle_s = rounds * o.interval_s;  // one full report per cycle
  double per_cycle = report + (rounds - 1) * beat;
  // Pings: one every keepalive after the last PUBACK, within the cycle.
  double pings = std::floor((cycle_s - 1e-9) / o.keepalive_s);
  per_cycle += pings * (2.0 + 2 + 3 * header);
  return per_cycle / cycle_s;
}

// CPU seconds per second of the steady state, to tell what a later event adds.
struct Baseline {
  double cluster_cpu = 0, broker_cpu = 0;
};

void measureWindow(Swarm& swarm, const Options& o, size_t topic_bytes, size_t payload_bytes,
                   size_t heartbeat_bytes) {
  const double n = static_cast<double>(swarm.ready());
  Watched before = Watched::take(o.cluster_pid, o.broker_pid);
  LinkCounters link0 = swarm.link();
  uint64_t lo0 = loopbackTxBytes();
  Counters c0 = swarm.counters();
  rusage self0{};
  ::getrusage(RUSAGE_SELF, &self0);

  swarm.takeAckLatencies();
  swarm.run(Steady::now() + seconds(o.window_s), [] { return false; });

  Delta d = since(before);
  auto acks = swarm.takeAckLatencies();
  LinkCounters link1 = swarm.link();
  uint64_t lo1 = loopbackTxBytes();
  const Counters& c1 = swarm.counters();
  rusage self1{};
  ::getrusage(RUSAGE_SELF, &self1);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  double self_cpu =
      tv(self1.ru_utime) + tv(self1.ru_stime) - tv(self0.ru_utime) - tv(self0.ru_stime);
  ProcSample cluster = sampleProc(o.cluster_pid), broker = sampleProc(o.broker_pid);
  auto kbit = [&](double bytes) { return bytes * 8 / 1000 / d.seconds / n; };
  unsigned hdr = link1.header_bytes;
  double wire = static_cast<double>(link1.bytes - link0.bytes) +
                static_cast<double>(link1.segments - link0.segments) * hdr;
  double wire_up = static_cast<double>(link1.bytes_up - link0.bytes_up) +
                   static_cast<double>(link1.segments_up - link0.segments_up) * hdr;
  double model =
      modelBytesPerSecond(topic_bytes, payload_bytes, heartbeat_bytes, o, hdr) * 8 / 1000;
  double reports_per_s = static_cast<double>(c1.reports - c0.reports) / d.seconds;
  double heartbeats_per_s = static_cast<double>(c1.heartbeats - c0.heartbeats) / d.seconds;
  double messages = static_cast<double>(c1.reports - c0.reports + c1.heartbeats - c0.heartbeats);
  double segs_per_message =
      static_cast<double>(link1.segments - link0.segments) / std::max(1.0, messages);

  fmt::print(
      "steady window: {:.0f} s, {} workers connected, {:.1f} full reports/s and {:.0f} "
      "heartbeats/s, {} unanswered, {} pings, {} dropped connections\n",
      d.seconds, swarm.ready(), reports_per_s, heartbeats_per_s,
      static_cast<int64_t>(c1.reports - c0.reports) - static_cast<int64_t>(c1.pubacks - c0.pubacks),
      c1.pings - c0.pings, c1.drops - c0.drops);
  if (o.cluster_pid > 0) {
    fmt::print("  cluster: CPU {:.2f} % of a core, RSS {:.1f} MB\n",
               100 * d.cluster_cpu_s / d.seconds, cluster.rss_kb / 1024.0);
  }
  fmt::print("  broker:  CPU {:.2f} % of a core, RSS {:.1f} MB\n", 100 * d.broker_cpu_s / d.seconds,
             broker.rss_kb / 1024.0);
  fmt::print("  load generator: CPU {:.2f} % of a core\n", 100 * self_cpu / d.seconds);
  fmt::print(
      "  worker link (TCP_INFO, payload + {} B IP/TCP header per segment, {:.1f} segments "
      "per message): {:.3f} kbit/s per worker ({:.3f} up); model {:.3f}; loopback device "
      "(everything on lo) {:.3f}\n",
      hdr, segs_per_message, kbit(wire), kbit(wire_up), model,
      kbit(static_cast<double>(lo1 - lo0)));
  fmt::print("  MQTT bytes alone: {:.3f} kbit/s per worker\n",
             kbit(static_cast<double>(c1.mqtt_bytes_up - c0.mqtt_bytes_up + c1.mqtt_bytes_down -
                                      c0.mqtt_bytes_down)));
  result("window_s", d.seconds);
  result("connected", static_cast<double>(swarm.ready()));
  result("reports_per_s", reports_per_s);
  result("heartbeats_per_s", heartbeats_per_s);
  if (o.cluster_pid > 0) {
    result("cluster_cpu_pct", 100 * d.cluster_cpu_s / d.seconds);
    result("cluster_rss_mb", cluster.rss_kb / 1024.0);
    result("cluster_cpu_per_message_us", 1e6 * d.cluster_cpu_s / std::max(1.0, messages));
  }
  result("broker_cpu_pct", 100 * d.broker_cpu_s / d.seconds);
  result("broker_rss_mb", broker.rss_kb / 1024.0);
  result("bench_cpu_pct", 100 * self_cpu / d.seconds);
  result("link_kbit_per_worker", kbit(wire));
  result("link_up_kbit_per_worker", kbit(wire_up));
  result("model_kbit_per_worker", model);
  result("lo_kbit_per_worker", kbit(static_cast<double>(lo1 - lo0)));
  result("segments_per_message", segs_per_message);
  result("pings", static_cast<double>(c1.pings - c0.pings));
  result("drops", static_cast<double>(c1.drops - c0.drops));
  fmt::print("  report to PUBACK: p50 {:.2f} ms, p99 {:.2f} ms, max {:.1f} ms\n",
             percentile(acks, 0.5), percentile(acks, 0.99), percentile(acks, 1.0));
  result("puback_p50_ms", percentile(acks, 0.5));
  result("puback_p99_ms", percentile(acks, 0.99));
  result("puback_max_ms", percentile(acks, 1.0));
}

// Registrations while every worker is connected, with a probe measuring how long the broker
// stalls meanwhile (each one is an account change in the broker).
void lateRegistrations(Registrar& registrar, Swarm& swarm, const Options& o) {
  swarm.setProbe(milliseconds(o.probe_ms));
  swarm.run(Steady::now() + seconds(1), [] { return false; });
  // The steady load with the probe running, as long as the registrations will take: what they
  // add is measured above it.
  auto phase = seconds(2 * o.late_registrations + 3);
  Watched quiet = Watched::take(o.cluster_pid, o.broker_pid);
  swarm.run(Steady::now() + phase, [] { return false; });
  Delta q = since(quiet);
  Baseline base{q.cluster_cpu_s / q.seconds, q.broker_cpu_s / q.seconds};
  swarm.takeAckLatencies();
  Watched before = Watched::take(o.cluster_pid, o.broker_pid);
  Registration reg;
  for (int k = 0; k < o.late_registrations; ++k) {
    if (auto s = registrar.registerOne(fmt::format("scale-late-{}", k), reg); !s) {
      fmt::print(stderr, "late registration: {}\n", s.error().message);
      return;
    }
    swarm.run(Steady::now() + seconds(2), [] { return false; });
  }
  swarm.run(Steady::now() + seconds(3), [] { return false; });
  Delta d = since(before);
  auto acks = swarm.takeAckLatencies();
  swarm.setProbe(milliseconds(0));
  double k = o.late_registrations;
  double cluster = (d.cluster_cpu_s - base.cluster_cpu * d.seconds) / k;
  double broker = (d.broker_cpu_s - base.broker_cpu * d.seconds) / k;
  fmt::print(
      "{} registrations with the workers connected: latency {:.1f} ms each; CPU each above the "
      "steady load: cluster {:.3f} s, broker {:.3f} s; probe to PUBACK meanwhile ({} probes, "
      "every {} ms): p99 {:.1f} ms, max {:.0f} ms\n",
      o.late_registrations, percentile(reg.latencies_s, 0.5) * 1e3, cluster, broker, acks.size(),
      o.probe_ms, percentile(acks, 0.99), percentile(acks, 1.0));
  result("late_reg_ms", percentile(reg.latencies_s, 0.5) * 1e3);
  result("late_reg_cluster_cpu_s_each", cluster);
  result("late_reg_broker_cpu_s_each", broker);
  result("late_reg_puback_max_ms", percentile(acks, 1.0));
}

// The cluster's view at the end: how many workers it considers active.
void countActive(Registrar& registrar) {
  oak::http::ClientRequest req;
  req.target = "/api/v1/resources/workers";
  auto t = Steady::now();
  auto r = registrar.send(req);
  double ms = secondsSince(t) * 1e3;
  if (!r || r->status != 200) {
    fmt::print(stderr, "listing workers failed\n");
    return;
  }
  auto v = oak::json::parse(r->body);
  size_t active = 0;
  if (v && v->is_array()) {
    for (const auto& w : v->get_array()) {
      if (w.is_object() && w.get_object().contains("active") && w.get_object().at("active") == true)
        ++active;
    }
  }
  fmt::print(
      "cluster reports {} active workers (GET /api/v1/resources/workers: {:.0f} ms, {} KB)\n",
      active, ms, r->body.size() / 1024);
  result("active_workers", static_cast<double>(active));
  result("list_workers_ms", ms);
}

// GET /metrics on the cluster with every worker registered: latency and size of a scrape.
void measureScrapes(Registrar& registrar, int scrapes) {
  std::vector<double> ms;
  size_t bytes = 0, series = 0;
  for (int i = 0; i < scrapes; ++i) {
    oak::http::ClientRequest req;
    req.target = "/metrics";
    auto t = Steady::now();
    auto r = registrar.send(req);
    ms.push_back(secondsSince(t) * 1e3);
    if (!r || r->status != 200) {
      fmt::print(stderr, "GET /metrics failed\n");
      return;
    }
    bytes = r->body.size();
    // Every line is a sample except the HELP and TYPE lines.
    series = static_cast<size_t>(std::count(r->body.begin(), r->body.end(), '\n') -
                                 std::count(r->body.begin(), r->body.end(), '#'));
  }
  fmt::print("GET /metrics x{}: p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms; {} KB, {} series\n",
             scrapes, percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0), bytes / 1024,
             series);
  result("metrics_p50_ms", percentile(ms, 0.5));
  result("metrics_p99_ms", percentile(ms, 0.99));
  result("metrics_max_ms", percentile(ms, 1.0));
  result("metrics_kb", static_cast<double>(bytes) / 1024);
  result("metrics_series", static_cast<double>(series));
}

int run(const Options& o) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the script tees the output as it comes
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < o.workers + 64) {
    fmt::print(stderr, "RLIMIT_NOFILE is {}: too low for {} workers\n", lim.rlim_cur, o.workers);
    return 1;
  }
  std::optional<Registrar> registrar;
  std::vector<Account> accounts;
  std::string mqtt_host = o.mqtt_host;
  uint16_t mqtt_port = o.mqtt_port;
  if (!o.credentials_in.empty()) {
    auto loaded = loadCredentials(o.credentials_in);
    if (!loaded) return fmt::print(stderr, "{}\n", loaded.error().message), 1;
    accounts = std::move(*loaded);
    if (accounts.size() > o.workers) accounts.resize(o.workers);
  } else {
    auto url = oak::http::Url::parse(o.cluster_url);
    auto token = oak::files::read(o.token_file);
    if (!url || !token) return fmt::print(stderr, "bad --cluster or --token-file\n"), 1;
    registrar.emplace(*url, trim(*token));
    auto reg = registerAll(*registrar, o);
    if (!reg) return fmt::print(stderr, "registration: {}\n", reg.error().message), 1;
    accounts = std::move(reg->accounts);
    if (mqtt_host.empty()) mqtt_host = reg->mqtt_host;
    if (mqtt_port == 0) mqtt_port = reg->mqtt_port;
  }
  if (!o.credentials_out.empty()) {
    if (auto s = saveCredentials(o.credentials_out, accounts); !s)
      return fmt::print(stderr, "{}\n", s.error().message), 1;
  }
  sockaddr_in broker{};
  broker.sin_family = AF_INET;
  broker.sin_port = htons(mqtt_port);
  if (mqtt_port == 0 || ::inet_pton(AF_INET, mqtt_host.c_str(), &broker.sin_addr) != 1) {
    return fmt::print(stderr, "broker address '{}:{}' is not IPv4\n", mqtt_host, mqtt_port), 1;
  }

  const std::string tmpl = reportTemplate("scale-00000");
  Swarm swarm(broker, seconds(o.interval_s), seconds(o.full_every_s), seconds(o.keepalive_s));
  size_t topic_bytes = 0, payload_bytes = 0, heartbeat_bytes = 0;
  for (const auto& a : accounts) {
    Client c;
    c.account = a;
    c.topic = "nodes/" + a.id + "/information";
    c.heartbeat = publishQos0Packet("nodes/" + a.id + "/heartbeat", "");
    c.payload = reportFor(tmpl, a.id);
    topic_bytes = c.topic.size();
    payload_bytes = c.payload.size();
    heartbeat_bytes = c.heartbeat.size();
    swarm.add(std::move(c));
  }
  if (!o.sink_user.empty()) {
    auto password = oak::files::read(o.sink_password_file);
    if (!password) return fmt::print(stderr, "{}\n", password.error().message), 1;
    Client c;
    c.sink = true;
    c.account = {o.sink_user, o.sink_user, trim(*password), o.sink_user};
    swarm.add(std::move(c));
  }
  fmt::print(
      "{} workers, report {} bytes on a {}-byte topic every {} s, heartbeat {} bytes in the other "
      "{}-s intervals, keepalive {} s\n",
      accounts.size(), payload_bytes, topic_bytes,
      o.full_every_s <= 0 ? o.interval_s : o.full_every_s, heartbeat_bytes, o.interval_s,
      o.keepalive_s);
  result("workers", static_cast<double>(accounts.size()));
  result("payload_bytes", static_cast<double>(payload_bytes));

  // Ends when everyone is in, or when nobody got in for `--stall` seconds (a worker the broker
  // keeps refusing): the steady window then runs with those connected.
  Watched before = Watched::take(o.cluster_pid, o.broker_pid);
  swarm.start(o.connect_concurrency);
  double t99 = 0;
  size_t n99 = (accounts.size() * 99 + 99) / 100;
  swarm.run(Steady::now() + seconds(o.connect_timeout_s), [&] {
    if (t99 == 0 && swarm.ready() >= n99) t99 = secondsSince(before.at);
    return swarm.allReady() || Steady::now() - swarm.lastProgress() > seconds(o.stall_s);
  });
  Delta d = since(before);
  double t_all = duration<double>(swarm.lastProgress() - before.at).count();
  const Counters& c = swarm.counters();
  fmt::print(
      "connected and subscribed: {}/{}; 99 % after {:.1f} s, the last after {:.1f} s; {} failed "
      "attempts, {} refused by the broker; CPU meanwhile: cluster {:.1f} s, broker {:.1f} s\n",
      swarm.ready(), accounts.size(), t99, t_all, c.connect_errors, c.refused, d.cluster_cpu_s,
      d.broker_cpu_s);
  result("connect_99_seconds", t99);
  result("connect_seconds", t_all);
  result("never_connected", static_cast<double>(accounts.size() - swarm.ready()));
  result("connect_refused", static_cast<double>(c.refused));
  result("connect_cluster_cpu_s", d.cluster_cpu_s);
  result("connect_broker_cpu_s", d.broker_cpu_s);
  if (swarm.ready() == 0) return 1;

  swarm.run(Steady::now() + seconds(o.warmup_s < 0 ? o.interval_s : o.warmup_s),
            [] { return false; });
  measureWindow(swarm, o, topic_bytes, payload_bytes, heartbeat_bytes);
  if (registrar && o.late_registrations > 0) lateRegistrations(*registrar, swarm, o);
  if (registrar) countActive(*registrar);
  if (registrar && o.scrapes > 0) measureScrapes(*registrar, o.scrapes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Scale benchmark: N simulated workers against one cluster"};
  app.add_option("--cluster", o.cluster_url, "URL of the cluster's worker API")
      ->capture_default_str();
  app.add_option("--token-file", o.token_file,
                 "the cluster's worker token (<data dir>/worker-token)");
  app.add_option("--workers,-n", o.workers, "simulated workers")->capture_default_str();
  app.add_option("--interval", o.interval_s, "report interval, seconds")->capture_default_str();
  app.add_option("--full-every", o.full_every_s,
                 "seconds between full reports (heartbeats between them); 0: every interval")
      ->capture_default_str();
  app.add_option("--keepalive", o.keepalive_s, "MQTT keepalive, seconds")->capture_default_str();
  app.add_option("--window", o.window_s, "steady measurement window, seconds")
      ->capture_default_str();
  app.add_option("--warmup", o.warmup_s,
                 "seconds between all connected and the window "
                 "(default: one interval)");
  app.add_option("--connect-concurrency", o.connect_concurrency, "connections opened at once")
      ->capture_default_str();
  app.add_option("--connect-timeout", o.connect_timeout_s, "seconds")->capture_default_str();
  app.add_option("--stall", o.stall_s,
                 "give up connecting after this many seconds without progress")
      ->capture_default_str();
  app.add_option("--late-registrations", o.late_registrations,
                 "registrations made with every worker connected")
      ->capture_default_str();
  app.add_option("--probe", o.probe_ms, "probe period during late registrations, ms")
      ->capture_default_str();
  app.add_option("--scrapes", o.scrapes, "GET /metrics requests at the end (latency, size)")
      ->capture_default_str();
  app.add_option("--cluster-pid", o.cluster_pid, "pid of `oakestra cluster` (CPU and RSS)");
  app.add_option("--broker-pid", o.broker_pid, "pid of the broker (CPU and RSS)");
  app.add_option("--mqtt-host", o.mqtt_host, "broker address (default: from the registration)");
  app.add_option("--mqtt-port", o.mqtt_port, "broker port (default: from the registration)");
  app.add_option("--credentials-out", o.credentials_out, "save the workers' accounts here");
  app.add_option("--credentials-in", o.credentials_in, "floor mode: accounts saved by a run");
  app.add_option("--sink-user", o.sink_user, "floor mode: subscriber standing in for the cluster");
  app.add_option("--sink-password-file", o.sink_password_file, "its password");
  CLI11_PARSE(app, argc, argv);
  return run(o);
}
