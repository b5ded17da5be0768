#pragma once
// What the cluster's mosquitto is told: its options, and the pure rendering of its config, ACL
// and password files (kept apart from process handling so that they are unit-tested).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::mqtt {

struct BrokerOptions {
  std::string binary = "/usr/sbin/mosquitto";
  std::string passwd_binary = "/usr/bin/mosquitto_passwd";
  // Holds mosquitto.conf, passwd, acl and mosquitto.log (0600 files in a 0700 directory).
  std::string data_dir;
  std::string listen_host = "0.0.0.0";  // empty: every address
  uint16_t port = 10003;                // mosquitto refuses 0: the caller picks the port
  // The cluster's own account (readwrite on every topic).
  std::string admin_username = "cluster";
  std::string admin_password;
  std::chrono::milliseconds start_timeout{10'000};
};

struct BrokerUser {
  std::string password_line;  // "name:$7$..." as mosquitto_passwd writes it
  std::string topic_prefix;   // readwrite on "<prefix>/#"; "" for the admin (every topic)
};

Status validateBrokerOptions(const BrokerOptions& o);
Status validateUsername(std::string_view username);
Status validatePassword(std::string_view password);
Status validateTopicPrefix(std::string_view prefix);

// `run_as` is the account mosquitto keeps when started as root (it would otherwise switch to
// "mosquitto" and lose access to the 0600 files).
std::string renderBrokerConfig(const BrokerOptions& o, std::string_view run_as);
std::string renderAcl(const std::map<std::string, BrokerUser>& users);
std::string renderPasswordFile(const std::map<std::string, BrokerUser>& users);

std::string configPath(const BrokerOptions& o);
std::string passwordPath(const BrokerOptions& o);
std::string aclPath(const BrokerOptions& o);
std::string logPath(const BrokerOptions& o);

}  // namespace oak::mqtt
