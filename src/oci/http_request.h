#pragma once
// The pure parts of HttpSession: what a URL names, which proxy reaches it (the environment
// variables libcurl honoured), the request text, and where a redirect leads. No sockets here.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::oci {

// An http(s) URL, ready to connect to and to put in a request line.
struct HttpTarget {
  bool tls = false;
  std::string host;  // name or address, without the brackets of an IPv6 literal
  bool ip_literal = false;
  uint16_t port = 0;
  std::string target;  // "/path?query", percent-encoded as in the URL

  // "host:port", "[v6]:port": for connection keys and messages.
  std::string authority() const;
  // The Host header: the port only when it is not the scheme's default.
  std::string hostHeader() const;
};

// kInvalidArgument for anything but an absolute http or https URL with a host.
Result<HttpTarget> parseHttpUrl(std::string_view url);

// The absolute URL a Location header names, resolved against the request's URL; "" when it is
// not a valid URI reference.
std::string resolveLocation(std::string_view base, std::string_view location);

// An HTTP proxy: requests to http URLs in absolute form, CONNECT tunnels for https.
struct HttpProxy {
  std::string host;
  bool ip_literal = false;
  uint16_t port = 1080;
  std::string authorization;  // "Basic ..." when the proxy URL carries credentials

  std::string authority() const;
};

// Looks up an environment variable ("" when unset).
using EnvLookup = std::function<std::string(const char* name)>;
std::string processEnv(const char* name);

// The proxy for `t` from https_proxy/HTTPS_PROXY (https) or http_proxy/HTTP_PROXY (http),
// unless no_proxy/NO_PROXY lists its host. kInvalidArgument for an unusable proxy URL.
Result<std::optional<HttpProxy>> proxyFor(const HttpTarget& t, const EnvLookup& env);
// Whether a no_proxy list ("*", or names matching themselves and their subdomains, addresses
// and CIDR blocks, separated by commas or spaces) exempts `host`.
bool exemptFromProxy(std::string_view no_proxy, std::string_view host);

// The request head of a GET: request line, Host, User-Agent (unless empty), Accept,
// Accept-Encoding: identity, then the caller's "Name: value" headers, which replace defaults of
// the same name. kInvalidArgument for a header that is not one line of "Name: value".
Result<std::string> formatGet(const HttpTarget& t, const HttpProxy* proxy,
                              const std::vector<std::string>& headers, std::string_view user_agent);
// The CONNECT request that opens a tunnel to `t` through `proxy`.
std::string formatConnect(const HttpTarget& t, const HttpProxy& proxy, std::string_view user_agent);

// ASCII lower case, for header names.
std::string lowerAscii(std::string_view s);

}  // namespace oak::oci
