// URLs, proxies from the environment, request heads and redirect targets: no sockets.
#include <gtest/gtest.h>

#include <map>

#include "oci/http_request.h"

namespace oak::oci {
namespace {

EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

TEST(HttpUrlTest, ReadsSchemesHostsPortsAndTargets) {
  auto plain = parseHttpUrl("http://Registry.Example/v2/");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->host, "Registry.Example");
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/v2/");
  EXPECT_EQ(plain->hostHeader(), "Registry.Example");

  auto secure = parseHttpUrl("HTTPS://10.0.0.7:8443?scope=a%20b#frag");
  ASSERT_TRUE(secure);
  EXPECT_TRUE(secure->tls);
  EXPECT_TRUE(secure->ip_literal);
  EXPECT_EQ(secure->port, 8443);
  EXPECT_EQ(secure->target, "/?scope=a%20b");
  EXPECT_EQ(secure->authority(), "10.0.0.7:8443");

  auto v6 = parseHttpUrl("https://[fd00::1]/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "fd00::1");
  EXPECT_TRUE(v6->ip_literal);
  EXPECT_EQ(v6->authority(), "[fd00::1]:443");
  EXPECT_EQ(v6->hostHeader(), "[fd00::1]");
}

TEST(HttpUrlTest, RefusesWhatIsNotAnHttpUrl) {
  for (const char* bad : {"ftp://host/x", "/relative", "http:///nohost", "http://host:99999/",
                          "http://host:0/", "http://a b/", "registry.example/v2"}) {
    auto r = parseHttpUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(HttpUrlTest, ResolvesLocations) {
  const std::string base = "https://registry.example/v2/app/blobs/sha256:1?x=1";
  EXPECT_EQ(resolveLocation(base, "https://cdn.example/blob?sig=2"),
            "https://cdn.example/blob?sig=2");
  EXPECT_EQ(resolveLocation(base, "/other"), "https://registry.example/other");
  EXPECT_EQ(resolveLocation(base, "../manifests/v1"),
            "https://registry.example/v2/app/manifests/v1");
  EXPECT_EQ(resolveLocation(base, "//mirror.example:444/y"), "https://mirror.example:444/y");
  EXPECT_EQ(resolveLocation(base, "not a uri"), "");
}

TEST(HttpProxyTest, NoProxyListsNamesDomainsAddressesAndBlocks) {
  EXPECT_TRUE(exemptFromProxy("*", "anything"));
  EXPECT_TRUE(exemptFromProxy("example.com", "example.com"));
  EXPECT_TRUE(exemptFromProxy("example.com", "Registry.EXAMPLE.com."));
  EXPECT_TRUE(exemptFromProxy(".example.com", "example.com"));
  EXPECT_FALSE(exemptFromProxy("example.com", "badexample.com"));
  EXPECT_TRUE(exemptFromProxy("a.lan, 10.0.0.0/8 ,::1", "10.20.30.40"));
  EXPECT_FALSE(exemptFromProxy("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(exemptFromProxy("a.lan 192.168.1.7", "192.168.1.7"));
  EXPECT_FALSE(exemptFromProxy("192.168.1.7", "192.168.1.8"));
  EXPECT_TRUE(exemptFromProxy("a.lan,::1", "::1"));
  EXPECT_TRUE(exemptFromProxy("fd00::/8", "fd12::5"));
  EXPECT_FALSE(exemptFromProxy("fd00::/8,10.0.0.0/8", "fe80::1"));
  EXPECT_FALSE(exemptFromProxy("", "example.com"));
}

TEST(HttpProxyTest, PicksTheVariableOfTheScheme) {
  auto https = parseHttpUrl("https://registry.example/v2/").value();
  auto http = parseHttpUrl("http://registry.example/v2/").value();
  auto env = envOf({{"HTTPS_PROXY", "http://u:p%40ss@proxy.lan:3128"},
                    {"http_proxy", "plain.lan"},
                    {"NO_PROXY", "localhost"}});
  auto tunnel = proxyFor(https, env);
  ASSERT_TRUE(tunnel && *tunnel);
  EXPECT_EQ((*tunnel)->authority(), "proxy.lan:3128");
  EXPECT_EQ((*tunnel)->authorization, "Basic dTpwQHNz");  // "u:p@ss"
  auto plain = proxyFor(http, env);
  ASSERT_TRUE(plain && *plain);
  EXPECT_EQ((*plain)->authority(), "plain.lan:1080");
  EXPECT_TRUE((*plain)->authorization.empty());

  auto exempt = proxyFor(http, envOf({{"http_proxy", "plain.lan"}, {"no_proxy", "example"}}));
  ASSERT_TRUE(exempt);
  EXPECT_FALSE(*exempt);
  auto none = proxyFor(https, envOf({{"http_proxy", "plain.lan"}}));
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto socks = proxyFor(https, envOf({{"https_proxy", "socks5://s.lan"}}));
  ASSERT_FALSE(socks);
  EXPECT_EQ(socks.error().code, ErrorCode::kInvalidArgument);
}

TEST(HttpRequestTest, FormatsAGetWithDefaultsTheCallerMayReplace) {
  auto t = parseHttpUrl("https://registry.example:5000/v2/?n=1").value();
  auto head = formatGet(t, nullptr, {"accept: application/json", "Authorization: Bearer x"}, "ua");
  ASSERT_TRUE(head);
  EXPECT_EQ(*head,
            "GET /v2/?n=1 HTTP/1.1\r\n"
            "Host: registry.example:5000\r\n"
            "User-Agent: ua\r\n"
            "Accept-Encoding: identity\r\n"
            "accept: application/json\r\n"
            "Authorization: Bearer x\r\n"
            "\r\n");
  for (const char* bad : {"NoColon", ": empty", "Bad Name: x", "X: a\nY: b"}) {
    EXPECT_FALSE(formatGet(t, nullptr, {bad}, "")) << bad;
  }
}

TEST(HttpRequestTest, FormatsRequestsForProxies) {
  HttpProxy proxy{"proxy.lan", false, 3128, "Basic eDp5"};
  auto plain = parseHttpUrl("http://[::1]:8080/x").value();
  EXPECT_EQ(formatGet(plain, &proxy, {}, "").value(),
            "GET http://[::1]:8080/x HTTP/1.1\r\n"
            "Host: [::1]:8080\r\n"
            "Accept: */*\r\n"
            "Accept-Encoding: identity\r\n"
            "Proxy-Authorization: Basic eDp5\r\n"
            "\r\n");
  auto secure = parseHttpUrl("https://registry.example/v2/").value();
  // Inside a tunnel the request is the origin's, and the proxy's credentials stay out of it.
  EXPECT_TRUE(formatGet(secure, &proxy, {}, "").value().starts_with("GET /v2/ HTTP/1.1\r\n"));
  EXPECT_EQ(formatGet(secure, &proxy, {}, "").value().find("Proxy-"), std::string::npos);
  EXPECT_EQ(formatConnect(secure, proxy, "ua"),
            "CONNECT registry.example:443 HTTP/1.1\r\n"
            "Host: registry.example:443\r\n"
            "Proxy-Authorization: Basic eDp5\r\n"
            "User-Agent: ua\r\n"
            "\r\n");
}

}  // namespace
}  // namespace oak::oci
