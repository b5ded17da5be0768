#pragma once
// The control protocol of mosquitto's dynamic security plugin (mosquitto 2.0): a request is
// {"commands": [...]} published on `$CONTROL/dynamic-security/v1`; the plugin answers each request
// with one message on `.../response` holding one response per command, in order, each carrying
// the command's correlationData. Pure functions: building commands and reading responses.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::mqtt::dynsec {

inline constexpr std::string_view kControlTopic = "$CONTROL/dynamic-security/v1";
inline constexpr std::string_view kResponseTopic = "$CONTROL/dynamic-security/v1/response";

// Error texts of the plugin (2.0.11) that callers act upon.
inline constexpr std::string_view kClientExists = "Client already exists";
inline constexpr std::string_view kClientNotFound = "Client not found";

// A client (account) with a password. A non-empty `client_id` binds the account to that MQTT
// client id: a connection with another id is refused, so a worker cannot take over another
// worker's session by borrowing its client id.
boost::json::object createClient(std::string_view username, std::string_view password,
                                 std::string_view client_id = {});
// Replaces the password; the plugin also disconnects the account's live sessions.
boost::json::object setClientPassword(std::string_view username, std::string_view password);
// Removes the account and disconnects its live sessions.
boost::json::object deleteClient(std::string_view username);

// The request payload; each command should carry its "correlationData".
std::string encodeRequest(const std::vector<boost::json::object>& commands);

struct Response {
  std::string command;
  std::string correlation;  // empty when the plugin could not read the command
  std::string error;        // empty on success
  boost::json::value data;  // "data" of get/list commands, null otherwise
};

// Reads a response message. kInvalidArgument when the payload is not one.
Result<std::vector<Response>> decodeResponses(std::string_view payload);

}  // namespace oak::mqtt::dynsec
