#include "link/net_messages.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/json.h"

namespace oak::link {

namespace bj = boost::json;

namespace {

constexpr size_t kMaxKey = 256;

std::string withType(std::string_view type, bj::object o) {
  o["type"] = type;
  return bj::serialize(o);
}

Result<std::string> requireText(const bj::object& o, std::string_view key, std::string_view where) {
  auto s = json::getString(o, key);
  if (!s || s->empty() || s->size() > kMaxKey) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}.{}: required string of 1-{} characters", where, key, kMaxKey));
  }
  return *s;
}

bj::value routesValue(const std::optional<bj::object>& routes) {
  return routes ? bj::value(*routes) : bj::value(nullptr);
}

}  // namespace

std::string encodeSubnetRequest(const SubnetRequest& r) {
  return withType("subnet_request", bj::object{{"worker_id", r.worker_id}});
}

std::string encodeSubnet(const Subnet& s) {
  bj::object o{{"worker_id", s.worker_id}};
  if (s.error.empty()) {
    o["subnet"] = s.subnet;
    o["subnet_v6"] = s.subnet_v6;
  } else {
    o["error"] = s.error;
  }
  return withType("subnet", std::move(o));
}

std::string encodeTableQuery(const TableQuery& q) {
  return withType("table_query", bj::object{{"key", q.key}});
}

std::string encodeTable(const Table& t) {
  return withType("table", bj::object{{"key", t.key}, {"routes", routesValue(t.routes)}});
}

std::string encodeTableUpdate(const Table& t) {
  return withType("table_update", bj::object{{"key", t.key}, {"routes", routesValue(t.routes)}});
}

std::string encodeInterestRemove(const std::string& job_name) {
  return withType("interest_remove", bj::object{{"job_name", job_name}});
}

Result<SubnetRequest> subnetRequestFrom(const Envelope& e) {
  OAK_ASSIGN_OR_RETURN(auto id, requireText(e.body, "worker_id", "subnet_request"));
  return SubnetRequest{id};
}

Result<Subnet> subnetFrom(const Envelope& e) {
  Subnet s;
  OAK_ASSIGN_OR_RETURN(s.worker_id, requireText(e.body, "worker_id", "subnet"));
  s.error = json::getString(e.body, "error").value_or("");
  if (s.error.empty()) {
    OAK_ASSIGN_OR_RETURN(s.subnet, requireText(e.body, "subnet", "subnet"));
    OAK_ASSIGN_OR_RETURN(s.subnet_v6, requireText(e.body, "subnet_v6", "subnet"));
  }
  return s;
}

Result<TableQuery> tableQueryFrom(const Envelope& e) {
  OAK_ASSIGN_OR_RETURN(auto key, requireText(e.body, "key", "table_query"));
  return TableQuery{key};
}

Result<Table> tableFrom(const Envelope& e) {
  Table t;
  OAK_ASSIGN_OR_RETURN(t.key, requireText(e.body, "key", e.type));
  auto it = e.body.find("routes");
  if (it != e.body.end() && it->value().is_object()) {
    t.routes = it->value().get_object();
  } else if (it != e.body.end() && !it->value().is_null()) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}.routes: must be an object or null", e.type));
  }
  return t;
}

Result<std::string> interestRemoveFrom(const Envelope& e) {
  return requireText(e.body, "job_name", "interest_remove");
}

}  // namespace oak::link
