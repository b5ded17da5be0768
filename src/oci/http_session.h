#pragma once
// Blocking HTTP/1.1 GETs for the registry client and kernel downloads, over Asio and OpenSSL
// (both stay inside the .cpp files). Redirects are not followed here: the client decides whether
// credentials may go to the new location. See docs/design/registry-http.md.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace oak::oci {

struct HttpHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case

  // Value of a header (lower-case name), or "" when absent.
  std::string_view header(std::string_view lower_name) const;
};

struct HttpResult {
  HttpHead head;
  std::string body;      // body of a non-2xx answer, cut at 64 KiB
  std::string location;  // absolute target of a redirect
};

// Receives the body of a 2xx answer chunk by chunk; an error aborts the transfer.
using BodySink = std::function<Status(const HttpHead& head, std::string_view chunk)>;

struct SessionOptions {
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds low_speed_timeout{30};  // abort below 1 KiB/s for this long
  std::string user_agent;
  std::function<bool()> cancelled;  // polled during transfers; true aborts
  // A PEM bundle trusted besides the system's store (private registries). The braces keep
  // initialisers that stop before it warning-free.
  std::string ca_file{};
};

// One connection cache for the requests of one pull: a kept-alive connection per scheme, host
// and port. Honours http_proxy, https_proxy and no_proxy. Not thread-safe: one per call.
class HttpSession {
 public:
  explicit HttpSession(const SessionOptions& options);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // kUnavailable naming the step that failed ("connect host:443: Connection refused", "TLS
  // handshake with host: certificate verify failed: ...", "...: timed out ...", "cancelled"),
  // kInvalidArgument for a URL, header or proxy setting that cannot be used, or the sink's error
  // when it refused a chunk. HTTP error statuses are results, not errors.
  Result<HttpResult> get(const std::string& url, const std::vector<std::string>& headers,
                         const BodySink& sink);
  // Whether the last `get` failed because its sink refused a chunk (its error is the sink's).
  bool sinkFailed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oak::oci
