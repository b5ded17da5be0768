#pragma once
// The root⇄cluster link: JSON text messages over one WebSocket that the cluster opens to the root
// (`GET /api/clusters/connect`, bearer = the cluster join token). The root never dials a cluster,
// so clusters behind NAT work. Each message is an object with a "type".
//
//   cluster → root: hello (first message: name, location, resources, the cluster's instances for
//                   reconciliation), resources (on change), heartbeat (slow, when idle),
//                   instance_status (every status change of an instance)
//   root → cluster: welcome (the cluster's id), deploy (service document + instance number),
//                   undeploy (service id + instance number, -1 = all), error (then close)

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace oak::link {

// One instance as the cluster sees it; also the payload of `instance_status`.
struct InstanceState {
  std::string service_id;
  int64_t instance_number = 0;
  std::string status;  // NODE_SCHEDULED, RUNNING, FAILED, DEAD, COMPLETED, ...
  std::string status_detail;
  std::string worker_id;
  std::string worker_name;
  std::string publicip;
  double cpu = 0;
  double memory = 0;
};

struct Hello {
  std::string name;
  std::string location;  // "lat,lon,radius_km" or ""
  boost::json::object resources;
  std::vector<InstanceState> instances;
  std::string version;
};

struct Deploy {
  boost::json::object service;  // the root's service document
  int64_t instance_number = 0;
};

struct Undeploy {
  std::string service_id;
  int64_t instance_number = -1;  // -1: every instance
};

boost::json::object toJson(const InstanceState& s);
Result<InstanceState> instanceStateFromJson(const boost::json::object& o);

std::string encodeHello(const Hello& h);
std::string encodeResources(const boost::json::object& resources);
std::string encodeHeartbeat();
std::string encodeInstanceStatus(const InstanceState& s);
std::string encodeWelcome(const std::string& cluster_id);
std::string encodeDeploy(const Deploy& d);
std::string encodeUndeploy(const Undeploy& u);
std::string encodeError(const std::string& message);

// A decoded message: `type` plus the object; typed accessors validate the fields.
struct Envelope {
  std::string type;
  boost::json::object body;
};
Result<Envelope> decode(std::string_view text);
Result<Hello> helloFrom(const Envelope& e);
Result<Deploy> deployFrom(const Envelope& e);
Result<Undeploy> undeployFrom(const Envelope& e);

}  // namespace oak::link
