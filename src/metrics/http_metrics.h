#pragma once
// Metrics for HTTP servers: what a router answers, and the `GET /metrics` endpoint itself.

#include <string>

#include "http/router.h"
#include "metrics/metrics.h"

namespace oak::metrics {

// Counts the router's answers in oakestra_http_requests_total{route,method,code} and times them
// in oakestra_http_request_duration_seconds{route,method}. `route` is the route's pattern
// ("/api/service/{service_id}"), so ids do not multiply the series; "static" for the fallback
// handler and "unmatched" for paths no route serves. The registry must outlive the router and
// any answer still pending; the observer runs on the router's thread (the event loop) and keeps
// the series it saw, so a request costs two map lookups and two atomic updates.
void observeRequests(http::Router& router, Registry& registry);

struct EndpointOptions {
  // Non-empty: a scrape must send "Authorization: Bearer <token>" (401 otherwise).
  std::string token;
};

// GET /metrics: the registry in the text exposition format, rendered on the loop thread.
void addMetricsEndpoint(http::Router& router, const Registry& registry,
                        EndpointOptions options = {});

}  // namespace oak::metrics
