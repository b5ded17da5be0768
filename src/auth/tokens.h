#pragma once
// JSON Web Tokens (HS256) for API sessions: short-lived access tokens and long-lived refresh
// tokens, with the claims clients of the original API read (`sub`, `user`, `roles`,
// `organization`, `type`). The signing key lives in the data directory and survives restarts.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace oak::auth {

enum class TokenType { kAccess, kRefresh };

struct Claims {
  std::string subject;  // user name
  std::vector<std::string> roles;
  std::string organization;  // organization id
  TokenType type = TokenType::kAccess;
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::string id;  // jti
};

struct TokenOptions {
  // Lifetime of access tokens.
  std::chrono::seconds access_ttl{std::chrono::minutes(10)};
  // Lifetime of refresh tokens.
  std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 7)};
};

class TokenService {
 public:
  // `key` is the raw HMAC key (at least 32 bytes).
  static Result<std::unique_ptr<TokenService>> create(std::string key, const Clock& clock,
                                                      TokenOptions options = {});

  Result<std::string> issue(TokenType type, const std::string& subject,
                            const std::vector<std::string>& roles,
                            const std::string& organization) const;
  // Checks signature, algorithm, expiry and type. Errors are kUnauthenticated with the reason.
  Result<Claims> verify(std::string_view token, TokenType expected) const;

 private:
  TokenService(std::string key, const Clock& clock, TokenOptions options);
  std::string key_;
  const Clock& clock_;
  TokenOptions options_;
};

// Reads the key file, or creates it (0600) with 32 random bytes when absent.
Result<std::string> loadOrCreateKey(const std::string& path);

}  // namespace oak::auth
