#pragma once
// Registry authentication as Docker Hub does it: a 401 carries a `WWW-Authenticate` challenge;
// a Bearer challenge names a token service (realm, service, scope) that hands out short-lived
// tokens, anonymously or for basic credentials; a Basic challenge wants the credentials directly.

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace oak::oci {

struct Challenge {
  std::string scheme;                         // lower-case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-case: "realm", "service", "scope"

  std::string param(const std::string& key) const;
};

// Parses a `WWW-Authenticate` value (one or more challenges, comma-separated auth-params with
// token or quoted-string values); kUnprocessable when malformed.
Result<std::vector<Challenge>> parseChallenges(std::string_view header);

// The URL that asks the challenge's realm for a token: realm?service=...&scope=... (the
// challenge's scope, else `fallback_scope`).
std::string tokenUrl(const Challenge& bearer, std::string_view fallback_scope);

struct Token {
  std::string value;
  std::chrono::seconds lifetime{60};
};

// Reads a token service answer ({"token": ..., "expires_in": ...}; "access_token" also accepted).
// Tokens without a lifetime live 60 s, as the token protocol specifies.
Result<Token> parseTokenResponse(std::string_view body);

// "Basic base64(user:password)".
std::string basicAuthorization(std::string_view user, std::string_view password);

// Tokens per registry and scope, until they expire. Thread-safe: one client serves several
// pulls on a blocking pool.
class TokenCache {
 public:
  explicit TokenCache(const Clock& clock) : clock_(clock) {}

  std::optional<std::string> get(const std::string& key) const;
  void put(const std::string& key, const Token& token);
  void drop(const std::string& key);

 private:
  struct Entry {
    std::string token;
    Clock::TimePoint expires;
  };
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace oak::oci
