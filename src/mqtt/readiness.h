#pragma once
// Start-up check for the broker: a bare MQTT 3.1.1 CONNECT with the admin account. Accepting a
// TCP connection is not enough (another program may hold the port); a CONNACK with code 0 proves
// that our mosquitto runs with our files.

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace oak::mqtt::detail {

// kUnavailable while nothing (or no MQTT broker) answers; kUnauthenticated when the broker
// refuses the account.
Status probeMqtt(const std::string& host, uint16_t port, const std::string& username,
                 const std::string& password, std::chrono::milliseconds timeout);

// The address to probe for a listen address: wildcards become loopback.
std::string probeHost(const std::string& listen_host);

}  // namespace oak::mqtt::detail
