#include "http/message.h"

#include <boost/json.hpp>
#include <boost/url/decode_view.hpp>

#include <algorithm>

namespace oak::http {

std::string_view methodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
    case Method::kPatch:
      return "PATCH";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

Method methodFromName(std::string_view n) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kDelete,
                   Method::kPatch, Method::kOptions}) {
    if (methodName(m) == n) return m;
  }
  return Method::kOther;
}

namespace {
std::string_view lookup(const HeaderList& list, std::string_view key) {
  for (const auto& [k, v] : list) {
    if (k == key) return v;
  }
  return {};
}
}  // namespace

std::string_view Request::header(std::string_view lower_name) const {
  return lookup(headers, lower_name);
}

std::string_view Request::param(std::string_view name) const {
  return lookup(path_params, name);
}

std::optional<std::string> Request::queryParam(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view raw = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    if (key != name) continue;
    auto decoded = boost::urls::make_pct_string_view(raw);
    if (!decoded) return std::string(raw);
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    std::string out;
    for (char c : boost::urls::decode_view(*decoded, opts)) out.push_back(c);
    return out;
  }
  return std::nullopt;
}

Result<std::string_view> bearerToken(const Request& req) {
  std::string_view h = req.header("authorization");
  if (h.empty()) {
    return makeError(ErrorCode::kUnauthenticated,
                     "missing Authorization header (expected 'Authorization: Bearer <token>')");
  }
  constexpr std::string_view kPrefix = "Bearer ";
  if (h.size() <= kPrefix.size() ||
      !std::equal(kPrefix.begin(), kPrefix.end(), h.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return makeError(ErrorCode::kUnauthenticated,
                     "malformed Authorization header (expected 'Authorization: Bearer <token>')");
  }
  return h.substr(kPrefix.size());
}

Response jsonResponse(int status, const boost::json::value& body) {
  return Response{status, "application/json", boost::json::serialize(body), {}};
}

Response textResponse(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body), {}};
}

Response errorResponse(int status, std::string_view message) {
  boost::json::object o;
  o["code"] = status;
  o["status"] = reasonPhrase(status);
  o["message"] = message;
  return jsonResponse(status, o);
}

Response errorResponse(const Error& e) {
  return errorResponse(httpStatus(e.code), e.message);
}

}  // namespace oak::http
