#include "metrics/http_metrics.h"

#include <fmt/format.h>

#include <array>
#include <map>
#include <memory>

namespace oak::metrics {

namespace {

// The series of one router, found once per (route, method, code) and then kept.
class RequestMetrics {
 public:
  explicit RequestMetrics(Registry& registry)
      : requests_(registry.counter("oakestra_http_requests_total",
                                   "HTTP requests answered, by route pattern, method and status.",
                                   {"route", "method", "code"})),
        durations_(registry.histogram(
            "oakestra_http_request_duration_seconds",
            "Time from routing an HTTP request to its answer, by route pattern and method.",
            {"route", "method"}, latencyBuckets())) {}

  void record(const http::RequestRecord& r) {
    std::string_view route = !r.route.empty() ? std::string_view(r.route)
                             : r.fallback     ? "static"
                                              : "unmatched";
    auto it = routes_.find(route);
    if (it == routes_.end()) it = routes_.emplace(std::string(route), PerRoute{}).first;
    PerRoute& per = it->second;
    auto method = static_cast<size_t>(r.method);
    std::string_view name = http::methodName(r.method);
    Histogram*& duration = per.durations[method % per.durations.size()];
    if (duration == nullptr) duration = &durations_.labels({route, name});
    Counter*& count = per.counters[(method << 16) | static_cast<uint16_t>(r.status)];
    if (count == nullptr) count = &requests_.labels({route, name, std::to_string(r.status)});
    count->inc();
    duration->observe(r.elapsed);
  }

 private:
  struct PerRoute {
    std::array<Histogram*, 8> durations{};  // by method
    std::map<uint32_t, Counter*> counters;  // by method and status
  };
  Family<Counter>& requests_;
  Family<Histogram>& durations_;
  std::map<std::string, PerRoute, std::less<>> routes_;
};

bool sameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

void observeRequests(http::Router& router, Registry& registry) {
  auto metrics = std::make_shared<RequestMetrics>(registry);
  router.setObserver([metrics](const http::RequestRecord& r) { metrics->record(r); });
}

void addMetricsEndpoint(http::Router& router, const Registry& registry, EndpointOptions options) {
  http::RouteDoc doc{
      "Metrics in the Prometheus text format", "meta", !options.token.empty(), "", "", ""};
  router.add(http::Method::kGet, "/metrics", std::move(doc),
             [&registry, token = std::move(options.token)](const http::Request& req) {
               if (!token.empty()) {
                 auto given = http::bearerToken(req);
                 if (!given || !sameSecret(*given, token)) {
                   auto r = http::errorResponse(401, "/metrics needs the metrics token");
                   r.headers.emplace_back("WWW-Authenticate", "Bearer");
                   return r;
                 }
               }
               http::Response r{200, std::string(kContentType), {}, {}};
               r.body.reserve(64 * 1024);
               registry.render(r.body);
               return r;
             });
}

}  // namespace oak::metrics
