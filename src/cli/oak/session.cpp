#include "cli/oak/session.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "cli/oak/jwt.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;
using http::Method;

namespace {

// Refresh a little early, so that a token does not expire between the check and the request.
constexpr int64_t kExpiryMarginSeconds = 5;

ErrorCode codeOf(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 405:
      return ErrorCode::kMethodNotAllowed;
    case 409:
      return ErrorCode::kConflict;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 422:
      return ErrorCode::kUnprocessable;
    case 503:
      return ErrorCode::kUnavailable;
    case 507:
      return ErrorCode::kExhausted;
    default:
      return ErrorCode::kInternal;
  }
}

std::string serverMessage(const ApiReply& reply) {
  if (auto v = json::parse(reply.body); v && v->is_object()) {
    if (auto m = json::getString(v->get_object(), "message"); m && !m->empty()) return *m;
  }
  std::string text = reply.body.substr(0, reply.body.find('\n'));
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  if (text.empty()) return fmt::format("HTTP {} {}", reply.status, reasonPhrase(reply.status));
  return text;
}

Error sessionExpired() {
  return makeError(ErrorCode::kUnauthenticated, "session expired: run oak login");
}

}  // namespace

Error replyError(const ApiReply& reply) {
  return makeError(codeOf(reply.status), serverMessage(reply));
}

Session::Session(Transport& transport, Endpoint endpoint, const Clock& clock,
                 std::function<void(const std::string&)> on_refreshed)
    : transport_(transport),
      endpoint_(std::move(endpoint)),
      clock_(clock),
      on_refreshed_(std::move(on_refreshed)) {}

std::string Session::username() const {
  auto claims = readClaims(endpoint_.token);
  return claims ? claims->subject : "";
}

bool Session::expired(const std::string& token) const {
  auto claims = readClaims(token);
  return claims && claims->expires_at > 0 &&
         clock_.nowSeconds() + kExpiryMarginSeconds >= claims->expires_at;
}

Result<ApiReply> Session::authorized(const Attempt& attempt) {
  bool can_refresh = !endpoint_.refresh_token.empty();
  if (can_refresh && !refreshed_ && expired(endpoint_.token)) OAK_TRY(refresh());
  OAK_ASSIGN_OR_RETURN(auto reply, attempt(endpoint_.token));
  if (reply.status == 401 && can_refresh && !refreshed_) {
    OAK_TRY(refresh());
    OAK_ASSIGN_OR_RETURN(reply, attempt(endpoint_.token));
  }
  if (reply.status == 401) return refused(reply);
  return reply;
}

Status Session::refresh() {
  refreshed_ = true;
  OAK_ASSIGN_OR_RETURN(auto reply, transport_.send({Method::kPost, "/api/auth/refresh", "",
                                                    endpoint_.refresh_token}));
  if (reply.status == 401) return sessionExpired();
  if (reply.status != 200) return replyError(reply);
  auto v = json::parse(reply.body);
  auto token = v && v->is_object() ? json::getString(v->get_object(), "token") : std::nullopt;
  if (!token || token->empty()) {
    return makeError(ErrorCode::kUnavailable, "the root's refresh answer holds no token");
  }
  endpoint_.token = *token;
  if (on_refreshed_) on_refreshed_(*token);
  return {};
}

Error Session::refused(const ApiReply& reply) const {
  if (endpoint_.token.empty()) {
    return makeError(ErrorCode::kUnauthenticated,
                     fmt::format("not logged in to {}: run oak login", endpoint_.url));
  }
  std::string message = serverMessage(reply);
  if (endpoint_.token_from_env) {
    return makeError(ErrorCode::kUnauthenticated,
                     expired(endpoint_.token)
                         ? "the token in OAK_TOKEN has expired: set a new one, or unset it and "
                           "run oak login"
                         : fmt::format("the token in OAK_TOKEN was refused: {}", message));
  }
  if (expired(endpoint_.token) || message.find("expired") != std::string::npos) {
    return sessionExpired();
  }
  return makeError(ErrorCode::kUnauthenticated, message + ": run oak login");
}

Result<ApiReply> Session::send(Method method, const std::string& target, const std::string& body) {
  return authorized([&](const std::string& token) {
    return transport_.send({method, target, body, token});
  });
}

Result<ApiReply> Session::stream(const std::string& target, const DataSink& sink) {
  return authorized([&](const std::string& token) {
    return transport_.stream({Method::kGet, target, "", token}, sink);
  });
}

Result<bj::value> Session::call(Method method, const std::string& target, const std::string& body) {
  OAK_ASSIGN_OR_RETURN(auto reply, send(method, target, body));
  if (reply.status / 100 != 2) return replyError(reply);
  if (reply.body.empty()) return bj::value();
  auto v = json::parse(reply.body);
  if (!v) {
    return makeError(
        ErrorCode::kUnavailable,
        fmt::format("{} answered {} with something that is not JSON", endpoint_.url, target));
  }
  return std::move(*v);
}

}  // namespace oak::cli
