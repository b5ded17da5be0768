#pragma once
// Options of `oakestra root`. Each field is a flag, an environment variable and a config-file key
// (see `addRootFlags`).

#include <chrono>
#include <string>

namespace CLI {
class App;
}

namespace oak::root {

struct RootOptions {
  // HOST:PORT of the REST API ("[::]:10000" for IPv6).
  std::string listen = "0.0.0.0:10000";
  // Where the database, the token signing key and other state live.
  std::string data_dir = "/var/lib/oakestra/root";
  // Requests with larger bodies are refused with 413.
  size_t max_body_bytes = 1 << 20;
  // Lifetime of access tokens and of refresh tokens.
  std::chrono::seconds access_token_ttl{600};
  std::chrono::seconds refresh_token_ttl{7 * 24 * 3600};
  // Bearer token GET /metrics requires; empty: open to scrapers.
  std::string metrics_token;
};

void addRootFlags(CLI::App& app, RootOptions& o);

}  // namespace oak::root
