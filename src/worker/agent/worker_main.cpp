#include "worker/agent/worker_main.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <atomic>
#include <thread>

#include "common/files.h"
#include "common/host_port.h"
#include "common/json.h"
#include "http/client.h"
#include "http/router.h"
#include "http/server.h"
#include "logs/capture.h"
#include "logs/forwarder.h"
#include "logs/log_metrics.h"
#include "metrics/http_metrics.h"
#include "metrics/process_metrics.h"
#include "mqtt/metered_bus.h"
#include "mqtt/mosquitto_client.h"
#include "scheduler/geo.h"
#include "worker/agent/agent.h"
#include "worker/agent/runtimes.h"
#include "worker/agent/worker_metrics.h"
#include "worker/host/command_runner.h"
#include "worker/overlay/overlay.h"

namespace oak::worker {

namespace bj = boost::json;

namespace {

struct Registration {
  std::string worker_id;
  mqtt::ClientOptions mqtt;
};

// One attempt. kUnauthenticated/kUnprocessable are final; anything else is worth retrying.
Result<Registration> registerOnce(const WorkerOptions& o) {
  OAK_ASSIGN_OR_RETURN(auto url, http::Url::parse(o.cluster_url));
  http::ClientRequest req{http::Method::kPost,
                          url.base_path + "/api/v1/workers/register",
                          {{"Authorization", "Bearer " + o.token}},
                          bj::serialize(bj::object{{"name", o.name}})};
  OAK_ASSIGN_OR_RETURN(auto res, http::fetch(url.host, url.port, req, std::chrono::seconds(10)));
  auto body = json::parse(res.body);
  if (res.status != 200) {
    std::string msg = body && body->is_object()
                          ? json::getString(body->get_object(), "message").value_or(res.body)
                          : res.body;
    ErrorCode code = res.status == 401   ? ErrorCode::kUnauthenticated
                     : res.status == 422 ? ErrorCode::kUnprocessable
                                         : ErrorCode::kUnavailable;
    return makeError(code, fmt::format("the cluster answered {}: {}", res.status, msg));
  }
  if (!body || !body->is_object()) return makeError(ErrorCode::kUnavailable, "malformed answer");
  const auto& o2 = body->get_object();
  const auto* m = json::findObject(o2, "mqtt");
  auto id = json::getString(o2, "worker_id");
  if (!m || !id) return makeError(ErrorCode::kUnavailable, "answer lacks worker_id or mqtt");
  Registration r;
  r.worker_id = *id;
  r.mqtt.host = json::getString(*m, "host").value_or(url.host);
  r.mqtt.port = static_cast<uint16_t>(json::getInt(*m, "port").value_or(10003));
  r.mqtt.username = json::getString(*m, "username").value_or("");
  r.mqtt.password = json::getString(*m, "password").value_or("");
  // The cluster binds the account to this client id.
  r.mqtt.client_id = json::getString(*m, "client_id").value_or(*id + "-ne");
  // Idle workers cost little: a keepalive ping per minute rather than every few seconds.
  r.mqtt.keepalive = std::chrono::seconds(60);
  return r;
}

std::string hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// The address of this host on the route towards `host` (the cluster): what other workers of the
// cluster can reach it at. Falls back to loopback when there is no route.
std::string localAddressTowards(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), "9", &hints, &found) != 0 || found == nullptr) {
    return "127.0.0.1";
  }
  std::string address = "127.0.0.1";
  int fd = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    char text[INET6_ADDRSTRLEN] = {};
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      const void* a =
          local.ss_family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
      if (::inet_ntop(local.ss_family, a, text, sizeof(text))) address = text;
    }
  }
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(found);
  return address;
}

// Refusals of the worker's broker credentials in a row after which it registers again: the
// cluster lost or replaced its account, and retrying the same password would never succeed.
constexpr uint64_t kReRegisterAfter = 3;
// --leave-on-exit: how long removing the instances may take (oakestra up waits 15 s).
constexpr auto kLeaveTimeout = std::chrono::seconds(12);
// Records waiting for the cluster while the broker is out of reach.
constexpr size_t kControlLogRecords = 5000;

// Registers again (off the loop) when the broker keeps refusing the credentials, and hands the
// fresh ones to the client. A new worker id (the cluster forgot this worker) ends the run: the
// agent's topics are named after the id, so the process starts over under its process manager.
class ReRegistration {
 public:
  ReRegistration(EventLoop& loop, const WorkerOptions& o, std::string worker_id,
                 mqtt::MosquittoClient& bus, std::function<void()> give_up)
      : loop_(loop),
        o_(o),
        worker_id_(std::move(worker_id)),
        bus_(bus),
        give_up_(std::move(give_up)) {}

  void check() {
    auto now = std::chrono::steady_clock::now();
    if (bus_.connected()) backoff_ = kFirstBackoff;
    if (busy_ || now < next_try_ || bus_.consecutiveAuthFailures() < kReRegisterAfter) return;
    busy_ = true;
    spdlog::warn("the broker refused this worker's credentials {} times; registering again",
                 bus_.consecutiveAuthFailures());
    auto fresh = std::make_shared<Result<Registration>>(makeError(ErrorCode::kInternal, ""));
    // The work may outlive this object at shutdown: it holds copies only.
    loop_.runBlocking([o = o_, fresh] { *fresh = registerOnce(o); },
                      [this, fresh] { done(std::move(*fresh)); });
  }

 private:
  void done(Result<Registration> reg) {
    busy_ = false;
    // Spaced out even when it succeeds, in case the fresh credentials are refused too.
    auto wait = backoff_;
    next_try_ = std::chrono::steady_clock::now() + wait;
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(30'000));
    if (!reg) {
      return spdlog::warn("registering again failed ({}); retrying in {} ms or later",
                          reg.error().message, wait.count());
    }
    if (reg->worker_id != worker_id_) {
      spdlog::critical("the cluster now knows this worker as {} (was {}); restarting",
                       reg->worker_id, worker_id_);
      return give_up_();
    }
    if (auto s = bus_.setCredentials(reg->mqtt.username, reg->mqtt.password); !s) {
      return spdlog::error("new broker credentials: {}", s.error().message);
    }
    spdlog::info("registered again; connecting with the new broker credentials");
  }

  EventLoop& loop_;
  const WorkerOptions& o_;
  std::string worker_id_;
  mqtt::MosquittoClient& bus_;
  std::function<void()> give_up_;
  static constexpr std::chrono::milliseconds kFirstBackoff{500};
  bool busy_ = false;
  std::chrono::milliseconds backoff_{kFirstBackoff};
  std::chrono::steady_clock::time_point next_try_{};
};

}  // namespace

int runWorker(WorkerOptions o) {
  // The blocking pool adds threads; glibc would give each its own malloc arena, which
  // costs resident memory on small boxes for no gain at this load (a few calls at a time).
  ::mallopt(M_ARENA_MAX, 1);
  if (o.name.empty()) o.name = hostname();
  // The worker's records wait here until the cluster takes them (the cluster stamps who sent
  // them, so the identity here only matters for this process's own view).
  auto control_logs = std::make_shared<logs::LogBuffer>(kControlLogRecords);
  logs::captureLogs(control_logs, {"worker", o.name, ""});
  std::optional<std::pair<double, double>> location;
  if (!o.location.empty()) {
    auto point = sched::parseLatLon(o.location);
    if (!point) {
      spdlog::critical("--location: {}", point.error().message);
      return 2;
    }
    location = std::pair{point->lat, point->lon};
  }
  auto local_endpoint = parseHostPort(o.metrics_listen, "--metrics-listen");
  if (!local_endpoint) {
    spdlog::critical("{}", local_endpoint.error().message);
    return 2;
  }
  if (auto s = files::ensureDirectory(o.data_dir, 0700); !s) {
    spdlog::critical("{}", s.error().message);
    return 1;
  }

  Result<Registration> reg = makeError(ErrorCode::kUnavailable, "not tried");
  for (auto backoff = std::chrono::milliseconds(500);;
       backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000))) {
    reg = registerOnce(o);
    if (reg) break;
    if (reg.error().code == ErrorCode::kUnauthenticated ||
        reg.error().code == ErrorCode::kUnprocessable ||
        reg.error().code == ErrorCode::kInvalidArgument) {
      spdlog::critical("cannot register with {}: {}", o.cluster_url, reg.error().message);
      return 1;
    }
    spdlog::warn("registering with {} failed ({}); retrying in {} ms", o.cluster_url,
                 reg.error().message, backoff.count());
    std::this_thread::sleep_for(backoff);
  }
  spdlog::info("registered with {} as worker '{}' ({})", o.cluster_url, o.name, reg->worker_id);

  // Blocking work (containerd calls, image pulls) runs beside the loop; a long pull must not
  // hold up the launch or the removal of other instances.
  EventLoop loop(4);
  // Before everything its collectors read: destroyed after them.
  metrics::Registry registry;
  // Replies (service logs, statuses) follow the broker's acknowledgements of earlier messages:
  // without TCP_NODELAY each waits for the broker's delayed ACK, 40 ms.
  reg->mqtt.tcp_nodelay = true;
  auto bus = mqtt::MosquittoClient::create(loop, reg->mqtt);
  if (!bus) {
    spdlog::critical("mqtt: {}", bus.error().message);
    return 1;
  }
  mqtt::MeteredBus metered_bus(**bus, registry);
  std::unique_ptr<Overlay> overlay;
  if (o.overlay) {
    if (o.advertise_address.empty()) o.advertise_address = localAddressTowards(reg->mqtt.host);
    auto created = Overlay::create(
        loop, SystemClock::instance(), metered_bus,
        {reg->worker_id, o.data_dir, o.containerd_namespace, o.advertise_address, o.tunnel_port,
         o.bridge, o.tun, "oakestra",
         o.data_plane == "userspace" ? DataPlaneKind::kUserspace : DataPlaneKind::kKernel});
    if (!created) {
      spdlog::critical("overlay: {}", created.error().message);
      return 2;
    }
    overlay = std::move(*created);
    spdlog::info("overlay on ({} data plane); other workers reach this one at {}:{}/udp",
                 o.data_plane, o.advertise_address, o.tunnel_port);
  }
  SystemCommandRunner commands;
  LinuxHostProbe probe({"/proc", o.data_dir, &commands});
  std::string log_root = o.data_dir + "/logs";
  PullMetrics pulls(registry);
  auto on_pull = [&pulls](bool ok, std::chrono::steady_clock::duration took) {
    pulls.pulled(ok, took);
  };
  // Set when the worker stops: pulls in progress give up instead of holding up the exit.
  std::atomic<bool> stopping{false};
  ComposingRuntime runtime(metered(
      makeRuntimes(loop, o, log_root, on_pull, [&stopping] { return stopping.load(); }), registry));
  addRunningCollector(registry, runtime);
  WorkerAgent agent(loop, SystemClock::instance(), metered_bus, probe, runtime,
                    {reg->worker_id, location, o.report_interval, log_root, o.full_report_interval,
                     overlay ? &overlay->manager() : nullptr, [&overlay](const mqtt::Message& m) {
                       return overlay && overlay->manager().handle(m);
                     }});
  std::string control_topic = "nodes/" + reg->worker_id + "/logs/control";
  logs::LogForwarder control_forwarder(
      *control_logs, {}, [&metered_bus, &control_topic](const logs::Batch& batch) {
        if (!metered_bus.connected()) return false;  // wait in the buffer, not the MQTT queue
        metered_bus.publish(control_topic, bj::serialize(logs::toJson(batch)), 0);
        return true;
      });
  auto control_flusher =
      loop.every(std::chrono::seconds(1), [&control_forwarder] { control_forwarder.flush(); });
  logs::addControlLogCollector(registry, [&control_forwarder] {
    return std::map<std::string, uint64_t>{{"forwarded", control_forwarder.forwarded()},
                                           {"missed", control_forwarder.missed()}};
  });
  if (overlay) {
    overlay->start();
    addOverlayCollector(registry, [&overlay] { return overlay->counters(); });
  }
  agent.start();
  agent.tick();
  // Sample at least as often as reports are due, or a short --report-interval would be stretched
  // to the sampling period (and a short lease at the cluster would expire between reports).
  auto ticker =
      loop.every(std::min<std::chrono::seconds>(std::chrono::seconds(5), o.report_interval),
                 [&agent] { agent.tick(); });
  // A burst of deployments (pulls, specs, reports) leaves free chunks inside the heap that glibc
  // keeps resident; hand their pages back while the worker is quiet again.
  auto trimmer = loop.every(std::chrono::seconds(10), [] { ::malloc_trim(0); });
  auto overlay_ticker = loop.every(std::chrono::seconds(1), [&overlay] {
    if (overlay) overlay->tick();
  });
  int exit_code = 0;
  ReRegistration reregistration(loop, o, reg->worker_id, **bus, [&] {
    exit_code = 3;
    loop.stop();
  });
  auto credentials_check =
      loop.every(std::chrono::seconds(1), [&reregistration] { reregistration.check(); });

  http::Router router;
  router.add(http::Method::kGet, "/healthz", {"Liveness probe", "meta", false, "", "", ""},
             [&](const http::Request&) {
               return http::jsonResponse(200, bj::object{{"status", "ok"},
                                                         {"worker_id", reg->worker_id},
                                                         {"mqtt_connected", (*bus)->connected()}});
             });
  metrics::addProcessMetrics(registry, "worker");
  metrics::observeRequests(router, registry);
  metrics::addMetricsEndpoint(router, registry);
  http::ServerOptions so;
  so.host = local_endpoint->first;
  so.port = local_endpoint->second;
  auto server = http::HttpServer::start(loop, so, router);
  if (!server) {
    spdlog::critical("{}", server.error().message);
    return 1;
  }
  auto shut_down = [&] {
    stopping = true;
    ticker.reset();
    (*server)->stop();
    loop.stop();
  };
  loop.onTerminate([&](int sig) {
    spdlog::info("signal {}: shutting down", sig);
    if (!o.leave_on_exit) return shut_down();
    agent.leave(kLeaveTimeout, shut_down);
  });
  loop.run();
  // Work still running beside the loop uses the runtimes: let it end before they are destroyed.
  stopping = true;
  loop.joinBlocking();
  return exit_code;
}

}  // namespace oak::worker
