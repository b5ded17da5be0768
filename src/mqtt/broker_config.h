#pragma once
// What the cluster's mosquitto is told: its options, and the pure rendering of its config and ACL
// file (kept apart from process handling so that they are unit-tested). Accounts live in the
// dynamic security plugin's file (dynsec_config.h).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::mqtt {

struct BrokerOptions {
  std::string binary = "/usr/sbin/mosquitto";
  // mosquitto's dynamic security plugin; empty: where Debian's mosquitto package puts it.
  std::string dynsec_plugin;
  // Holds mosquitto.conf, acl, dynamic-security.json and mosquitto.log (0600 files in a 0700
  // directory).
  std::string data_dir;
  std::string listen_host = "0.0.0.0";  // empty: every address
  uint16_t port = 10003;                // mosquitto refuses 0: the caller picks the port
  // The cluster's own account (every topic, and the plugin's control topic).
  std::string admin_username = "cluster";
  std::string admin_password;
  // What every other account may do: mosquitto ACL patterns "read|write|readwrite TOPIC", with
  // %u standing for the account's user name (a worker's id).
  std::vector<std::string> acl_patterns{"readwrite nodes/%u/#"};
  // QoS 1 messages mosquitto queues for a client beyond those in flight (its default, 1000, drops
  // reports for the cluster's connection when thousands of workers reconnect at once).
  size_t max_queued_messages = 100'000;
  std::chrono::milliseconds start_timeout{10'000};
};

Status validateBrokerOptions(const BrokerOptions& o);
// User names are ObjectIds and the like: no '/', '+' or '#', which would widen a `%u` pattern.
Status validateUsername(std::string_view username);
Status validatePassword(std::string_view password);

// The plugin at `o.dynsec_plugin`, or the first of Debian's multiarch locations that exists.
Result<std::string> findDynsecPlugin(const BrokerOptions& o);

// `run_as` is the account mosquitto keeps when started as root (it would otherwise switch to
// "mosquitto" and lose access to the 0600 files).
std::string renderBrokerConfig(const BrokerOptions& o, std::string_view plugin,
                               std::string_view run_as);
std::string renderAcl(const BrokerOptions& o);

std::string configPath(const BrokerOptions& o);
std::string dynsecPath(const BrokerOptions& o);
std::string aclPath(const BrokerOptions& o);
std::string logPath(const BrokerOptions& o);

}  // namespace oak::mqtt
