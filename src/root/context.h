#pragma once
// What every part of the root orchestrator shares. Owned by `RootServer`; all of it is used on
// the event loop thread only.

#include "auth/password.h"
#include "auth/tokens.h"
#include "common/clock.h"
#include "http/event_loop.h"
#include "store/store.h"

namespace oak::root {

class Accounts;
class Applications;
class ServiceAddresses;
class ClusterRegistry;
class LogRequests;
class ServiceRoutes;
struct RootMetrics;
class Alerts;

}  // namespace oak::root

namespace oak::logs {
class LogBuffer;
}

namespace oak::root {

struct RootContext {
  store::Store& store;
  const Clock& clock;
  EventLoop& loop;
  auth::TokenService& tokens;
  auth::PasswordCost password_cost;
  // Clusters present this as their bearer token on the cluster link.
  std::string cluster_token;
  Accounts* accounts = nullptr;
  Applications* applications = nullptr;
  ServiceAddresses* addresses = nullptr;
  ClusterRegistry* clusters = nullptr;
  LogRequests* logs = nullptr;
  ServiceRoutes* routes = nullptr;
  RootMetrics* metrics = nullptr;  // null: nothing is counted
  // Control-plane records: the root's own and what the clusters forward (thread-safe).
  logs::LogBuffer* control_logs = nullptr;
  Alerts* alerts = nullptr;  // null: no alerts are evaluated
};

// Collection names in the store.
namespace coll {
inline constexpr const char* kUsers = "users";
inline constexpr const char* kOrganizations = "organizations";
inline constexpr const char* kApplications = "applications";
inline constexpr const char* kServices = "services";
inline constexpr const char* kClusters = "clusters";
inline constexpr const char* kAddresses = "addresses";
inline constexpr const char* kMeta = "meta";
}  // namespace coll

}  // namespace oak::root
