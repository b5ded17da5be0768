#pragma once
// Overlay network messages on the root⇄cluster link. The root is the address authority and knows
// where every instance runs; clusters cache the routes their workers asked for and the root
// pushes changes of those to them.
//
//   cluster → root: subnet_request (a worker's subnets), table_query (the routes of a service,
//                   by job name or by any of its service or instance addresses),
//                   interest_remove (no worker of the cluster needs a job's routes any more)
//   root → cluster: subnet, table (the answer to table_query; no routes: unknown),
//                   table_update (a job's routes changed; no routes: the service is gone)
//
// Routes are the JSON object workers parse (overlay/routes.h): job_name, service_ip_list,
// instance_list.

#include <boost/json/object.hpp>

#include <optional>
#include <string>

#include "common/result.h"
#include "link/messages.h"

namespace oak::link {

struct SubnetRequest {
  std::string worker_id;
};

struct Subnet {
  std::string worker_id;
  std::string subnet;     // "10.18.0.0/26"
  std::string subnet_v6;  // "fc00::/120"
  std::string error;      // set instead when none could be given
};

struct TableQuery {
  std::string key;  // a job name or an address
};

// The answer to a table query, and a pushed change (then `key` is the job name).
struct Table {
  std::string key;
  std::optional<boost::json::object> routes;
};

std::string encodeSubnetRequest(const SubnetRequest& r);
std::string encodeSubnet(const Subnet& s);
std::string encodeTableQuery(const TableQuery& q);
std::string encodeTable(const Table& t);
std::string encodeTableUpdate(const Table& t);
std::string encodeInterestRemove(const std::string& job_name);

Result<SubnetRequest> subnetRequestFrom(const Envelope& e);
Result<Subnet> subnetFrom(const Envelope& e);
Result<TableQuery> tableQueryFrom(const Envelope& e);
Result<Table> tableFrom(const Envelope& e);  // table and table_update
Result<std::string> interestRemoveFrom(const Envelope& e);

}  // namespace oak::link
