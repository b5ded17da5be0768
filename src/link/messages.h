#pragma once
// The root⇄cluster link: JSON text messages over one WebSocket that the cluster opens to the root
// (`GET /api/clusters/connect`, bearer = the cluster join token). The root never dials a cluster,
// so clusters behind NAT work. Each message is an object with a "type".
//
//   cluster → root: hello (first message: name, location, resources, the cluster's instances for
//                   reconciliation), resources (on change), heartbeat (slow, when idle),
//                   instance_status (every status change of an instance), logs_chunk (lines for
//                   a logs_request; the last one says done), workers (its workers' names and
//                   whether each is active, on change), control_logs (its own and its
//                   workers' log records, src/logs/record.h)
//   root → cluster: welcome (the cluster's id), deploy (service document + instance number),
//                   undeploy (service id + instance number, -1 = all), error (then close),
//                   logs_request (an instance's log lines, once or followed), logs_cancel
//   overlay network (net_messages.h): subnet_request / subnet, table_query / table,
//                   table_update, interest_remove

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
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
  // The last lines of an instance that ended (DEAD, FAILED, COMPLETED), at most
  // kMaxInstanceLogsBytes; "" when the worker sent none.
  std::string logs = {};
  // Where the instance is reachable on the overlay while it runs ("" / 0 otherwise): its
  // namespace addresses and its worker's tunnel endpoint.
  std::string namespace_ip = {};
  std::string namespace_ip_v6 = {};
  std::string host_ip = {};
  int64_t host_port = 0;
};

inline constexpr size_t kMaxInstanceLogsBytes = 4096;
// The last `max` bytes of `text`, starting at a UTF-8 character.
std::string lastBytes(std::string_view text, size_t max);

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

// Service logs: the root asks for an instance's lines, the cluster relays its worker's answers.
inline constexpr int64_t kMaxLogsTail = 10000;
bool validLogStream(std::string_view stream);  // stdout, stderr or all

struct LogLine {
  std::string time;    // RFC 3339 with nanoseconds, as the worker wrote it
  std::string stream;  // stdout or stderr
  std::string line;
};

struct LogsRequest {
  std::string request_id;  // unique per root process
  std::string service_id;
  int64_t instance_number = 0;
  std::string stream = "all";
  int64_t tail = 100;  // 1 .. kMaxLogsTail
  bool follow = false;
};

// Several per request; the last has `done` (a follow sends done only when it ends).
struct LogsChunk {
  std::string request_id;
  std::vector<LogLine> lines;
  bool done = false;
  std::string error;  // set when the request failed; then `done` too
};

boost::json::object toJson(const LogLine& l);
Result<LogLine> logLineFromJson(const boost::json::value& v);

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
std::string encodeLogsRequest(const LogsRequest& r);
std::string encodeLogsCancel(const std::string& request_id);
std::string encodeLogsChunk(const LogsChunk& c);

// One worker as the cluster reports it to the root: who it is, whether it is active, and what
// it is made of (only what seldom changes, so that the message goes out on real changes only).
struct WorkerSummary {
  std::string id;
  std::string name;
  bool active = false;
  double cores_total = 0;
  double memory_total_mb = 0;
  std::vector<std::string> runtimes = {};  // docker, unikernel
  std::vector<std::string> archs = {};     // amd64, arm64
  std::string acceleration = {};           // of unikernels: kvm, emulation; "" without them

  bool operator==(const WorkerSummary&) const = default;
};
inline constexpr size_t kMaxWorkersPerCluster = 100000;
std::string encodeWorkers(const std::vector<WorkerSummary>& workers);

// A decoded message: `type` plus the object; typed accessors validate the fields.
struct Envelope {
  std::string type;
  boost::json::object body;
};
Result<Envelope> decode(std::string_view text);
Result<Hello> helloFrom(const Envelope& e);
Result<Deploy> deployFrom(const Envelope& e);
Result<Undeploy> undeployFrom(const Envelope& e);
Result<LogsRequest> logsRequestFrom(const Envelope& e);
// The request id of a logs_cancel.
Result<std::string> logsCancelFrom(const Envelope& e);
Result<LogsChunk> logsChunkFrom(const Envelope& e);
Result<std::vector<WorkerSummary>> workersFrom(const Envelope& e);

}  // namespace oak::link
