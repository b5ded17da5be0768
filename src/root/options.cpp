#include "root/options.h"

#include <CLI/CLI.hpp>

namespace oak::root {

void addRootFlags(CLI::App& app, RootOptions& o) {
  app.add_option("--listen", o.listen, "HOST:PORT of the REST API")
      ->envname("OAKESTRA_LISTEN")
      ->capture_default_str();
  app.add_option("--data-dir", o.data_dir, "directory for the database and keys")
      ->envname("OAKESTRA_DATA_DIR")
      ->capture_default_str();
  app.add_option("--max-body-bytes", o.max_body_bytes, "largest accepted request body")
      ->envname("OAKESTRA_MAX_BODY_BYTES")
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20))
      ->capture_default_str();
  app.add_option("--access-token-ttl", o.access_token_ttl, "lifetime of access tokens, seconds")
      ->envname("OAKESTRA_ACCESS_TOKEN_TTL")
      ->check(CLI::Range(1, 30 * 24 * 3600))
      ->default_str("600");
  app.add_option("--refresh-token-ttl", o.refresh_token_ttl, "lifetime of refresh tokens, seconds")
      ->envname("OAKESTRA_REFRESH_TOKEN_TTL")
      ->check(CLI::Range(1, 365 * 24 * 3600))
      ->default_str("604800");
  app.add_option("--metrics-token", o.metrics_token,
                 "bearer token GET /metrics requires (default: none, open)")
      ->envname("OAKESTRA_METRICS_TOKEN");
}

}  // namespace oak::root
