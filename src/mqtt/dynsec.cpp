#include "mqtt/dynsec.h"

#include <boost/json.hpp>

#include "common/json.h"

namespace oak::mqtt::dynsec {

namespace bj = boost::json;

bj::object createClient(std::string_view username, std::string_view password,
                        std::string_view client_id) {
  bj::object c{{"command", "createClient"}, {"username", username}, {"password", password}};
  if (!client_id.empty()) c["clientid"] = client_id;
  return c;
}

bj::object setClientPassword(std::string_view username, std::string_view password) {
  return {{"command", "setClientPassword"}, {"username", username}, {"password", password}};
}

bj::object deleteClient(std::string_view username) {
  return {{"command", "deleteClient"}, {"username", username}};
}

std::string encodeRequest(const std::vector<bj::object>& commands) {
  bj::array list;
  list.reserve(commands.size());
  for (const auto& c : commands) list.emplace_back(c);
  return bj::serialize(bj::object{{"commands", std::move(list)}});
}

Result<std::vector<Response>> decodeResponses(std::string_view payload) {
  OAK_ASSIGN_OR_RETURN(auto v, json::parse(payload));
  const auto* list = v.is_object() ? json::findArray(v.get_object(), "responses") : nullptr;
  if (list == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, "responses: missing or not an array");
  }
  std::vector<Response> out;
  out.reserve(list->size());
  for (const auto& item : *list) {
    if (!item.is_object()) {
      return makeError(ErrorCode::kInvalidArgument, "responses: an entry is not an object");
    }
    const auto& o = item.get_object();
    Response r;
    r.command = json::getString(o, "command").value_or("");
    r.correlation = json::getString(o, "correlationData").value_or("");
    r.error = json::getString(o, "error").value_or("");
    if (const auto* d = o.if_contains("data")) r.data = *d;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace oak::mqtt::dynsec
