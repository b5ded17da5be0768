#include "fake_root.h"

#include <fmt/format.h>

#include <sstream>

#include "cli/oak/jwt.h"
#include "common/json.h"

namespace oak::cli::testing {

namespace bj = boost::json;
using http::Method;

namespace {

ApiReply answer(int status, const bj::value& body) {
  return {status, bj::serialize(body)};
}

ApiReply failure(int status, const std::string& message) {
  return answer(status, bj::object{{"code", status}, {"message", message}});
}

std::string base64Url(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : in) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 63]);
  return out;
}

std::vector<std::string> segments(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> out;
  std::stringstream ss(path);
  for (std::string s; std::getline(ss, s, '/');) {
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

std::string field(const bj::object& o, std::string_view key) {
  return json::getString(o, key).value_or("");
}

}  // namespace

std::string FakeRoot::issue(const std::string& type, const std::string& user,
                            int64_t ttl_seconds) const {
  bj::object claims{{"sub", user}, {"type", type}, {"exp", clock_.nowSeconds() + ttl_seconds}};
  return base64Url(R"({"alg":"HS256"})") + "." + base64Url(bj::serialize(claims)) + ".sig";
}

std::string FakeRoot::newId() {
  return fmt::format("{:024x}", ++next_id_ + 0xabc000);
}

bj::object FakeRoot::createService(const bj::object& ms, bj::object& app) {
  std::string id = newId();
  bj::object s = ms;
  s["_id"] = bj::object{{"$oid", id}};
  s["microserviceID"] = id;
  s["applicationID"] = field(app, "applicationID");
  s["app_name"] = field(app, "application_name");
  s["app_ns"] = field(app, "application_namespace");
  s["job_name"] = fmt::format("{}.{}.{}.{}", field(app, "application_name"),
                              field(app, "application_namespace"), field(ms, "microservice_name"),
                              field(ms, "microservice_namespace"));
  s["instance_list"] = bj::array{};
  s["next_instance_progressive_number"] = 0;
  s["service_ip_list"] = bj::array{
      bj::object{{"IpType", "RR"}, {"Address", "10.30.0.1"}, {"Address_v6", "fdff:2000::1"}}};
  app["microservices"].as_array().push_back(bj::string(id));
  services[id] = s;
  return s;
}

void FakeRoot::advance(bj::object& service) {
  std::string id = field(service, "microserviceID");
  for (auto& i : service["instance_list"].as_array()) {
    auto& inst = i.as_object();
    int64_t n = inst["instance_number"].as_int64();
    size_t& step = progress_[id][n];
    std::string status = lifecycle[std::min(step, lifecycle.size() - 1)];
    if (step + 1 < lifecycle.size()) ++step;
    inst["status"] = status;
    inst["status_detail"] = detail_of.count(status) ? detail_of[status] : "No extra information";
    if (status == "RUNNING") {
      inst["worker_name"] = "w1";
      inst["cluster_id"] = "c1";
    }
    if ((status == "FAILED" || status == "DEAD" || status == "COMPLETED") && !last_logs.empty()) {
      inst["logs"] = last_logs;
    }
    service["status"] = status;
  }
}

Result<ApiReply> FakeRoot::send(const ApiRequest& req) {
  requests.push_back(fmt::format("{} {}", http::methodName(req.method), req.target));
  if (req.target == "/api/auth/login") {
    auto body = json::parse(req.body).value().as_object();
    if (field(body, "password") != password) return failure(401, "wrong username or password");
    std::string user = field(body, "username");
    return answer(200, bj::object{{"token", issue("access", user, access_ttl)},
                                  {"refresh_token", issue("refresh", user, refresh_ttl)}});
  }
  auto claims = readClaims(req.token);
  if (!claims) return failure(401, "missing Authorization header");
  auto payload =
      json::parse(*decodeBase64Url(req.token.substr(
                      req.token.find('.') + 1, req.token.rfind('.') - req.token.find('.') - 1)))
          .value()
          .as_object();
  bool refresh = req.target == "/api/auth/refresh";
  if (field(payload, "type") != (refresh ? "refresh" : "access")) {
    return failure(401, "a token of the wrong type");
  }
  if (clock_.nowSeconds() >= claims->expires_at) return failure(401, "token has expired");
  if (refresh) {
    return answer(200, bj::object{{"token", issue("access", claims->subject, access_ttl)}});
  }
  return route(req, claims->subject);
}

Result<ApiReply> FakeRoot::stream(const ApiRequest& req, const DataSink& sink) {
  OAK_ASSIGN_OR_RETURN(auto reply, send(req));
  if (reply.status != 200) return reply;
  // Delivered in small pieces, as a network would.
  for (size_t at = 0; at < follow_events.size(); at += 7) {
    if (!sink(std::string_view(follow_events).substr(at, 7))) break;
  }
  return ApiReply{200, ""};
}

Result<ApiReply> FakeRoot::route(const ApiRequest& req, const std::string& user) {
  auto p = segments(req.target);
  Method m = req.method;
  auto is = [&](Method method, std::initializer_list<std::string_view> path) {
    if (m != method || p.size() != path.size()) return false;
    size_t i = 0;
    for (auto part : path) {
      if (part != "*" && p[i] != part) return false;
      ++i;
    }
    return true;
  };
  auto serviceOr404 = [&](const std::string& id) -> bj::object* {
    auto it = services.find(id);
    return it == services.end() ? nullptr : &it->second;
  };

  if (is(Method::kGet, {"api", "user", "*"})) {
    return answer(
        200, bj::object{{"_id", bj::object{{"$oid", "0000000000000000000000aa"}}}, {"name", p[2]}});
  }
  if (is(Method::kGet, {"api", "applications", "*"}) || is(Method::kGet, {"api", "applications"})) {
    bj::array out;
    for (const auto& [id, a] : applications) out.push_back(a);
    return answer(200, out);
  }
  if (is(Method::kGet, {"api", "application", "*"})) {
    auto it = applications.find(p[2]);
    if (it == applications.end()) return failure(404, "application_id: no application");
    return answer(200, it->second);
  }
  if (is(Method::kPost, {"api", "application"})) {
    auto sla = json::parse(req.body).value().as_object();
    for (const auto& a : sla["applications"].as_array()) {
      const auto& in = a.as_object();
      for (const auto& ms : in.at("microservices").as_array()) {
        if (!ms.as_object().at("memory").is_int64()) {
          return failure(422, "applications[0].microservices[0].memory: not an integer");
        }
      }
      std::string id = newId();
      bj::object app{{"_id", bj::object{{"$oid", id}}},
                     {"applicationID", id},
                     {"application_name", in.at("application_name")},
                     {"application_namespace", in.at("application_namespace")},
                     {"userId", user},
                     {"microservices", bj::array{}}};
      for (const auto& ms : in.at("microservices").as_array()) createService(ms.as_object(), app);
      applications[id] = app;
    }
    bj::array out;
    for (const auto& [id, a] : applications) out.push_back(a);
    return answer(200, out);
  }
  if (is(Method::kPost, {"api", "service"})) {
    auto sla = json::parse(req.body).value().as_object();
    const auto& in = sla["applications"].as_array()[0].as_object();
    auto& app = applications.at(field(in, "applicationID"));
    std::string last;
    for (const auto& ms : in.at("microservices").as_array()) {
      last = field(createService(ms.as_object(), app), "microserviceID");
    }
    return answer(200, bj::object{{"job_id", last}});
  }
  if (is(Method::kDelete, {"api", "application", "*"})) {
    auto it = applications.find(p[2]);
    if (it == applications.end()) return failure(404, "application_id: no application");
    for (const auto& s : it->second["microservices"].as_array()) {
      services.erase(std::string(s.as_string()));
    }
    applications.erase(it);
    return answer(200, bj::object{{"message", "Application Deleted"}});
  }
  if (is(Method::kGet, {"api", "services", "*"})) {
    bj::array out;
    for (auto& [id, s] : services) {
      if (field(s, "applicationID") == p[2]) out.push_back(s);
    }
    return answer(200, out);
  }
  if (is(Method::kGet, {"api", "service", "*"})) {
    auto* s = serviceOr404(p[2]);
    if (s == nullptr) return failure(404, fmt::format("service_id: no service with id '{}'", p[2]));
    advance(*s);
    return answer(200, *s);
  }
  if (is(Method::kDelete, {"api", "service", "*"})) {
    if (services.erase(p[2]) == 0) return failure(404, "service_id: no service");
    for (auto& [id, a] : applications) {
      auto& list = a["microservices"].as_array();
      for (auto it = list.begin(); it != list.end();) {
        it = it->as_string() == p[2] ? list.erase(it) : it + 1;
      }
    }
    return answer(200, bj::object{{"message", "Job deleted"}});
  }
  if (is(Method::kPost, {"api", "service", "*", "instance"})) {
    auto* s = serviceOr404(p[2]);
    if (s == nullptr) return failure(404, "service_id: no service");
    if (!placeable) {
      (*s)["status"] = "NoActiveClusterWithCapacity";
      (*s)["status_detail"] = "no cluster is registered";
    } else {
      int64_t n = (*s)["next_instance_progressive_number"].as_int64();
      (*s)["instance_list"].as_array().push_back(
          bj::object{{"instance_number", n}, {"instance_ip", fmt::format("10.18.0.{}", n + 2)}});
      (*s)["next_instance_progressive_number"] = n + 1;
    }
    return answer(200, bj::object{{"message", "ok"}});
  }
  if (is(Method::kDelete, {"api", "service", "*", "instance", "*"})) {
    auto* s = serviceOr404(p[2]);
    if (s == nullptr) return failure(404, "service_id: no service");
    auto& list = (*s)["instance_list"].as_array();
    for (auto it = list.begin(); it != list.end();) {
      bool gone =
          p[4] == "-1" || std::to_string(it->as_object().at("instance_number").as_int64()) == p[4];
      it = gone ? list.erase(it) : it + 1;
    }
    return answer(200, bj::object{{"message", "ok"}});
  }
  if (is(Method::kGet, {"api", "service", "*", "instance", "*", "logs"})) {
    if (serviceOr404(p[2]) == nullptr) return failure(404, "service_id: no service");
    return answer(200, bj::object{{"service_id", p[2]},
                                  {"instance_number", std::stoll(p[4])},
                                  {"lines", log_lines}});
  }
  if (is(Method::kGet, {"api", "v1", "resources", "clusters"})) return answer(200, clusters);
  if (is(Method::kGet, {"api", "workers"})) return answer(200, workers);
  if (is(Method::kGet, {"api", "alerts"})) return answer(200, alerts);
  if (is(Method::kGet, {"api", "logs"})) {
    if (user != "Admin") return failure(403, "this needs the Admin role");
    return answer(200, bj::object{{"lines", control_lines}});
  }
  return failure(404, "no route " + req.target);
}

}  // namespace oak::cli::testing
