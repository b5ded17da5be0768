#include "api_client.h"

#include "common/json.h"

namespace oak::testing {

namespace bj = boost::json;

std::string ApiResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

std::string ApiResponse::message() const {
  if (!json.is_object()) return "";
  return oak::json::getString(json.get_object(), "message").value_or("");
}

ApiResponse ApiClient::call(oak::http::Method m, const std::string& target, const std::string& body,
                            const std::string& token, oak::http::HeaderList extra) const {
  oak::http::ClientRequest req{m, target, std::move(extra), body};
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  auto r = oak::http::fetch(host_, port_, req);
  ApiResponse out;
  if (!r) {
    ADD_FAILURE() << "request " << target << " failed: " << r.error().message;
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  if (auto v = oak::json::parse(r->body)) out.json = std::move(*v);
  return out;
}

std::string ApiClient::login(const std::string& user, const std::string& password) const {
  auto r = post("/api/auth/login", bj::object{{"username", user}, {"password", password}});
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200 || !r.json.is_object()) return "";
  return oak::json::getString(r.json.get_object(), "token").value_or("");
}

bj::object jwtClaims(const std::string& token) {
  size_t a = token.find('.');
  size_t b = token.find('.', a + 1);
  std::string part = token.substr(a + 1, b - a - 1);
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int val = 0, bits = -8;
  for (char c : part) {
    auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  auto v = oak::json::parse(out);
  return v && v->is_object() ? v->get_object() : bj::object{};
}

}  // namespace oak::testing
