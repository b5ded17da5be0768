#pragma once
// Reading the claims of the root's tokens on the client: who the session is for, and when its
// access token expires (so it is refreshed before a request rather than after a refusal). The
// signature is the root's business; nothing here trusts a token.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oak::cli {

struct TokenClaims {
  std::string subject;     // the user name
  int64_t expires_at = 0;  // seconds since the epoch; 0 when absent
};

// nullopt when `token` is not a JWT with a JSON payload.
std::optional<TokenClaims> readClaims(std::string_view token);

// Base64url (RFC 4648 §5), padding optional; nullopt on a character outside the alphabet.
std::optional<std::string> decodeBase64Url(std::string_view text);

}  // namespace oak::cli
