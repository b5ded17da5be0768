#include "oci/registry_session.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cctype>

#include "common/json.h"

namespace oak::oci {

namespace {

constexpr int kMaxRedirects = 5;
constexpr size_t kMaxTokenAnswer = 1 << 20;
constexpr std::string_view kDockerHubApi = "registry-1.docker.io";

// The host part of "host", "host:port", "[v6]:port".
std::string_view hostOf(std::string_view registry) {
  if (registry.starts_with('[')) return registry.substr(1, registry.find(']') - 1);
  return registry.substr(0, registry.find(':'));
}

bool isLoopback(std::string_view registry) {
  std::string host(hostOf(registry));
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

// "scheme://authority" of a URL, lower-case: credentials only go back to the registry's origin.
std::string originOf(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  size_t end = url.find_first_of("/?#", scheme_end + 3);
  std::string origin(url.substr(0, end));
  std::transform(origin.begin(), origin.end(), origin.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return origin;
}

// The messages of a registry error body ({"errors": [{"code", "message"}]}), else its start.
std::string registryMessage(const HttpResult& r) {
  if (auto parsed = json::parse(r.body); parsed && parsed->is_object()) {
    std::string out;
    if (const auto* errors = json::findArray(parsed->get_object(), "errors")) {
      for (const auto& e : *errors) {
        if (!e.is_object()) continue;
        auto text = json::getString(e.get_object(), "message");
        if (!text || text->empty()) text = json::getString(e.get_object(), "code");
        if (!text || text->empty()) continue;
        if (!out.empty()) out += "; ";
        out += *text;
      }
    }
    if (!out.empty()) return out;
  }
  std::string text = r.body.substr(0, 200);
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text.empty() ? fmt::format("HTTP {}", r.head.status) : text;
}

}  // namespace

bool isSuccess(int status) {
  return status >= 200 && status < 300;
}

AuthState::AuthState(RegistryOptions o)
    : options(std::move(o)), tokens(options.clock ? *options.clock : SystemClock::instance()) {}

std::string schemeFor(const std::vector<std::string>& insecure, std::string_view registry) {
  bool listed = std::find(insecure.begin(), insecure.end(), registry) != insecure.end();
  return listed || isLoopback(registry) ? "http" : "https";
}

RegistrySession::RegistrySession(AuthState& state, const Reference& ref)
    : state_(state),
      ref_(ref),
      image_(ref.str()),
      base_(fmt::format("{}://{}", schemeFor(state.options.insecure_registries, ref.registry),
                        ref.registry == kDockerHub ? kDockerHubApi : ref.registry)),
      scope_(fmt::format("repository:{}:pull", ref.repository)),
      token_key_(ref.registry + " " + scope_),
      http_(SessionOptions{state.options.connect_timeout, state.options.low_speed_timeout,
                           state.options.user_agent, state.options.cancelled}) {}

Error RegistrySession::fail(ErrorCode code, std::string_view message) const {
  return makeError(code, fmt::format("image {}: {}", image_, message));
}

Error RegistrySession::statusError(const HttpResult& r, std::string_view what) const {
  std::string message = registryMessage(r);
  std::string prefix = what.empty() ? "" : std::string(what) + ": ";
  int status = r.head.status;
  const std::string& registry = ref_.registry;
  switch (status) {
    case 404:
      return fail(ErrorCode::kNotFound, prefix + message);
    case 401:
      return fail(ErrorCode::kUnauthenticated, fmt::format("{}{} (registry {} refused the "
                                                           "credentials)",
                                                           prefix, message, registry));
    case 403:
      return fail(ErrorCode::kPermissionDenied, prefix + message);
    case 429:
      return fail(ErrorCode::kUnavailable,
                  fmt::format("{}registry {} asks to slow down: {}", prefix, registry, message));
  }
  ErrorCode code = status >= 500 || status < 200 || (status >= 300 && status < 400)
                       ? ErrorCode::kUnavailable
                       : ErrorCode::kUnprocessable;
  return fail(code,
              fmt::format("{}registry {} answered {}: {}", prefix, registry, status, message));
}

Error RegistrySession::transportError(const std::string& url, const Error& e) const {
  const auto& cancelled = state_.options.cancelled;
  if (cancelled && cancelled()) return fail(ErrorCode::kUnavailable, "pull cancelled");
  return fail(ErrorCode::kUnavailable,
              fmt::format("cannot reach {}: {}", originOf(url), e.message));
}

std::string RegistrySession::cachedAuthorization() {
  if (auto token = state_.tokens.get(token_key_)) return "Bearer " + *token;
  const auto& credentials = state_.options.credentials;
  std::lock_guard lock(state_.mutex);
  if (credentials && state_.basic_registries.contains(ref_.registry)) {
    return basicAuthorization(credentials->first, credentials->second);
  }
  return {};
}

Result<std::string> RegistrySession::authorize(const HttpResult& unauthorized) {
  std::string_view header = unauthorized.head.header("www-authenticate");
  if (header.empty()) {
    return fail(ErrorCode::kUnauthenticated,
                fmt::format("registry {} answered 401 without a challenge: {}", ref_.registry,
                            registryMessage(unauthorized)));
  }
  auto challenges = parseChallenges(header);
  if (!challenges) return fail(ErrorCode::kUnauthenticated, challenges.error().message);
  for (const auto& ch : *challenges) {
    if (ch.scheme == "bearer") return fetchToken(ch);
  }
  const auto& credentials = state_.options.credentials;
  for (const auto& ch : *challenges) {
    if (ch.scheme != "basic") continue;
    if (!credentials) {
      return fail(ErrorCode::kUnauthenticated,
                  fmt::format("registry {} requires credentials", ref_.registry));
    }
    std::lock_guard lock(state_.mutex);
    state_.basic_registries.insert(ref_.registry);
    return basicAuthorization(credentials->first, credentials->second);
  }
  return fail(ErrorCode::kUnauthenticated,
              fmt::format("registry {} asks for an unsupported authentication scheme '{}'",
                          ref_.registry, (*challenges)[0].scheme));
}

Result<std::string> RegistrySession::fetchToken(const Challenge& bearer) {
  state_.tokens.drop(token_key_);
  std::string realm = bearer.param("realm");
  if (realm.empty()) {
    return fail(ErrorCode::kUnauthenticated,
                fmt::format("registry {} sent a Bearer challenge without a realm", ref_.registry));
  }
  std::string realm_origin = originOf(realm);
  std::string realm_scheme = realm_origin.substr(0, realm_origin.find("://"));
  // A token (and the credentials that buy it) may travel in clear only as far as the registry
  // itself is spoken to in clear.
  if (realm_scheme != "https" && !(realm_scheme == "http" && base_.starts_with("http:"))) {
    return fail(ErrorCode::kUnauthenticated,
                fmt::format("registry {} names token service '{}', which is not HTTPS",
                            ref_.registry, realm));
  }
  std::string url = tokenUrl(bearer, scope_);
  const auto& credentials = state_.options.credentials;
  std::vector<std::string> headers;
  if (credentials) {
    headers.push_back("Authorization: " +
                      basicAuthorization(credentials->first, credentials->second));
  }
  std::string body;
  auto collect = [&](const HttpHead&, std::string_view chunk) -> Status {
    if (body.size() + chunk.size() > kMaxTokenAnswer) {
      return fail(ErrorCode::kUnprocessable, "token service answer is larger than 1 MiB");
    }
    body.append(chunk);
    return {};
  };
  auto r = http_.get(url, headers, collect);
  if (!r) return http_.sinkFailed() ? r.error() : transportError(url, r.error());
  if (r->head.status == 401 || r->head.status == 403) {
    return fail(
        ErrorCode::kUnauthenticated,
        fmt::format("token service {} refused {}: {}", originOf(url),
                    credentials ? "the credentials" : "anonymous access", registryMessage(*r)));
  }
  if (!isSuccess(r->head.status)) return statusError(*r, "token service");
  auto token = parseTokenResponse(body);
  if (!token) return fail(ErrorCode::kUnauthenticated, token.error().message);
  state_.tokens.put(token_key_, *token);
  return "Bearer " + token->value;
}

Result<HttpResult> RegistrySession::get(const std::string& path,
                                        const std::vector<std::string>& headers,
                                        const BodySink& sink) {
  std::string url = base_ + path;
  const std::string registry_origin = originOf(base_);
  std::string authorization = cachedAuthorization();
  bool authenticated_now = false;
  for (int redirects = 0; redirects <= kMaxRedirects;) {
    bool own_origin = originOf(url) == registry_origin;
    std::vector<std::string> request_headers = headers;
    if (own_origin && !authorization.empty()) {
      request_headers.push_back("Authorization: " + authorization);
    }
    auto r = http_.get(url, request_headers, sink);
    if (!r) return http_.sinkFailed() ? r.error() : transportError(url, r.error());
    int status = r->head.status;
    if (status == 401 && own_origin && !authenticated_now) {
      OAK_ASSIGN_OR_RETURN(authorization, authorize(*r));
      authenticated_now = true;
      continue;
    }
    if (status >= 300 && status < 400 && !r->location.empty()) {
      url = r->location;
      ++redirects;
      continue;
    }
    return r;
  }
  return fail(ErrorCode::kUnavailable,
              fmt::format("more than {} redirects, last to {}", kMaxRedirects, originOf(url)));
}

}  // namespace oak::oci
