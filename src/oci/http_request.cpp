#include "oci/http_request.h"

#include <fmt/format.h>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "oci/auth.h"

namespace oak::oci {

namespace urls = boost::urls;

namespace {

constexpr uint16_t kDefaultProxyPort = 1080;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string bracketed(const std::string& host, bool ip_literal) {
  bool v6 = ip_literal && host.find(':') != std::string::npos;
  return v6 ? "[" + host + "]" : host;
}

// Host and port of an absolute URL; `default_port` when it names none.
struct Endpoint {
  std::string host;
  bool ip_literal = false;
  uint16_t port = 0;
};

Result<Endpoint> endpointOf(const urls::url_view& u, std::string_view text, uint16_t default_port) {
  Endpoint e;
  switch (u.host_type()) {
    case urls::host_type::name:
      e.host = u.host_name();
      break;
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      e.host = u.host_address();
      e.ip_literal = true;
      break;
    default:
      break;
  }
  if (e.host.empty()) {
    return makeError(ErrorCode::kInvalidArgument, fmt::format("URL '{}': no host", text));
  }
  e.port = default_port;
  std::string_view port = u.port();
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || end != port.data() + port.size() || e.port == 0) {
      return makeError(ErrorCode::kInvalidArgument, fmt::format("URL '{}': bad port", text));
    }
  }
  return e;
}

// The bytes of an IPv4 or IPv6 address (brackets allowed), or nothing.
std::optional<std::vector<unsigned char>> addressBytes(std::string_view s) {
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (auto v4 = urls::parse_ipv4_address(s)) {
    auto b = v4->to_bytes();
    return std::vector<unsigned char>(b.begin(), b.end());
  }
  if (auto v6 = urls::parse_ipv6_address(s)) {
    auto b = v6->to_bytes();
    return std::vector<unsigned char>(b.begin(), b.end());
  }
  return std::nullopt;
}

// Whether `host` (an address) lies in `block` ("10.0.0.0/8", "::1", "192.168.1.7").
bool inBlock(const std::vector<unsigned char>& host, std::string_view block) {
  size_t slash = block.find('/');
  auto net = addressBytes(block.substr(0, slash));
  if (!net || net->size() != host.size()) return false;
  unsigned bits = static_cast<unsigned>(host.size() * 8);
  if (slash != std::string_view::npos) {
    std::string_view text = block.substr(slash + 1);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bits);
    if (ec != std::errc() || end != text.data() + text.size() || bits > host.size() * 8) {
      return false;
    }
  }
  for (unsigned i = 0; i < bits; ++i) {
    unsigned mask = 0x80u >> (i % 8);
    if ((host[i / 8] & mask) != ((*net)[i / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

std::string HttpTarget::authority() const {
  return fmt::format("{}:{}", bracketed(host, ip_literal), port);
}

std::string HttpTarget::hostHeader() const {
  uint16_t default_port = tls ? 443 : 80;
  return port == default_port ? bracketed(host, ip_literal) : authority();
}

std::string HttpProxy::authority() const {
  return fmt::format("{}:{}", bracketed(host, ip_literal), port);
}

Result<HttpTarget> parseHttpUrl(std::string_view url) {
  auto parsed = urls::parse_uri(url);
  if (!parsed) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("URL '{}': {}", url, parsed.error().message()));
  }
  const urls::url_view& u = *parsed;
  HttpTarget t;
  if (u.scheme_id() == urls::scheme::https) {
    t.tls = true;
  } else if (u.scheme_id() != urls::scheme::http) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("URL '{}': only http and https are supported", url));
  }
  OAK_ASSIGN_OR_RETURN(Endpoint e, endpointOf(u, url, t.tls ? 443 : 80));
  t.host = std::move(e.host);
  t.ip_literal = e.ip_literal;
  t.port = e.port;
  t.target = std::string(u.encoded_target());
  if (!t.target.starts_with('/')) t.target.insert(0, "/");
  return t;
}

std::string resolveLocation(std::string_view base, std::string_view location) {
  auto base_url = urls::parse_uri(base);
  auto ref = urls::parse_uri_reference(trim(location));
  if (!base_url || !ref) return {};
  urls::url out;
  if (!urls::resolve(*base_url, *ref, out)) return {};
  return std::string(out.buffer());
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string processEnv(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool exemptFromProxy(std::string_view no_proxy, std::string_view host) {
  std::string name = lowerAscii(host);
  if (name.ends_with('.')) name.pop_back();
  auto address = addressBytes(name);
  size_t pos = 0;
  while (pos < no_proxy.size()) {
    size_t end = no_proxy.find_first_of(", \t", pos);
    if (end == std::string_view::npos) end = no_proxy.size();
    std::string entry = lowerAscii(no_proxy.substr(pos, end - pos));
    pos = end + 1;
    if (entry == "*") return true;
    if (address) {
      if (inBlock(*address, entry)) return true;
      continue;
    }
    if (entry.starts_with('.')) entry.erase(0, 1);
    if (entry.ends_with('.')) entry.pop_back();
    if (entry.empty()) continue;
    if (name == entry || name.ends_with("." + entry)) return true;
  }
  return false;
}

Result<std::optional<HttpProxy>> proxyFor(const HttpTarget& t, const EnvLookup& env) {
  std::string no_proxy = env("no_proxy");
  if (no_proxy.empty()) no_proxy = env("NO_PROXY");
  if (exemptFromProxy(no_proxy, t.host)) return std::nullopt;
  std::string value = t.tls ? env("https_proxy") : env("http_proxy");
  if (value.empty()) value = t.tls ? env("HTTPS_PROXY") : env("HTTP_PROXY");
  std::string_view text = trim(value);
  if (text.empty()) return std::nullopt;
  std::string url(text);
  if (url.find("://") == std::string::npos) url.insert(0, "http://");
  auto parsed = urls::parse_uri(url);
  if (!parsed) {
    return makeError(ErrorCode::kInvalidArgument, fmt::format("proxy '{}': not a URL", text));
  }
  if (parsed->scheme_id() != urls::scheme::http) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("proxy '{}': only http:// proxies are supported", text));
  }
  OAK_ASSIGN_OR_RETURN(Endpoint e, endpointOf(*parsed, text, kDefaultProxyPort));
  HttpProxy proxy{std::move(e.host), e.ip_literal, e.port, {}};
  if (parsed->has_userinfo())
    proxy.authorization = basicAuthorization(parsed->user(), parsed->password());
  return proxy;
}

Result<std::string> formatGet(const HttpTarget& t, const HttpProxy* proxy,
                              const std::vector<std::string>& headers,
                              std::string_view user_agent) {
  std::vector<std::string> given;
  for (const auto& h : headers) {
    size_t colon = h.find(':');
    bool one_line = h.find_first_of("\r\n") == std::string::npos;
    if (!one_line || colon == 0 || colon == std::string::npos || h.find_first_of(" \t") < colon) {
      return makeError(ErrorCode::kInvalidArgument, fmt::format("bad request header '{}'", h));
    }
    given.push_back(lowerAscii(h.substr(0, colon)));
  }
  // Plain requests through a proxy name their whole URL; tunnelled ones are as if direct.
  bool absolute = proxy && !t.tls;
  std::string host = t.hostHeader();
  std::string out =
      fmt::format("GET {}{} HTTP/1.1\r\n", absolute ? "http://" + host : "", t.target);
  const std::pair<std::string_view, std::string_view> defaults[] = {
      {"Host", host},
      {"User-Agent", user_agent},
      {"Accept", "*/*"},
      {"Accept-Encoding", "identity"},
      {"Proxy-Authorization", absolute ? std::string_view(proxy->authorization) : ""},
  };
  for (const auto& [name, value] : defaults) {
    bool replaced = std::find(given.begin(), given.end(), lowerAscii(name)) != given.end();
    if (!value.empty() && !replaced) out += fmt::format("{}: {}\r\n", name, value);
  }
  for (const auto& h : headers) out += h + "\r\n";
  out += "\r\n";
  return out;
}

std::string formatConnect(const HttpTarget& t, const HttpProxy& proxy,
                          std::string_view user_agent) {
  std::string authority = t.authority();
  std::string out = fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n", authority);
  if (!proxy.authorization.empty()) {
    out += fmt::format("Proxy-Authorization: {}\r\n", proxy.authorization);
  }
  if (!user_agent.empty()) out += fmt::format("User-Agent: {}\r\n", user_agent);
  out += "\r\n";
  return out;
}

}  // namespace oak::oci
