#include "auth/tokens.h"

#include <jwt.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cstdlib>

#include "auth/password.h"
#include "common/files.h"
#include "common/json.h"

namespace oak::auth {
namespace {

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;
struct CharDeleter {
  void operator()(char* p) const { std::free(p); }
};

constexpr std::string_view typeName(TokenType t) {
  return t == TokenType::kAccess ? "access" : "refresh";
}

Error unauthenticated(std::string msg) {
  return makeError(ErrorCode::kUnauthenticated, std::move(msg));
}

}  // namespace

TokenService::TokenService(std::string key, const Clock& clock, TokenOptions options)
    : key_(std::move(key)), clock_(clock), options_(options) {}

Result<std::unique_ptr<TokenService>> TokenService::create(std::string key, const Clock& clock,
                                                           TokenOptions options) {
  if (key.size() < 32) {
    return makeError(ErrorCode::kInvalidArgument,
                     "the token signing key must have 32 bytes or more");
  }
  return std::unique_ptr<TokenService>(new TokenService(std::move(key), clock, options));
}

Result<std::string> TokenService::issue(TokenType type, const std::string& subject,
                                        const std::vector<std::string>& roles,
                                        const std::string& organization) const {
  int64_t now = clock_.nowSeconds();
  auto ttl = type == TokenType::kAccess ? options_.access_ttl : options_.refresh_ttl;
  boost::json::array role_array;
  for (const auto& r : roles) role_array.emplace_back(r);
  boost::json::object claims{{"sub", subject},
                             {"user", subject},
                             {"roles", std::move(role_array)},
                             {"organization", organization},
                             {"type", typeName(type)},
                             {"fresh", false},
                             {"iat", now},
                             {"nbf", now},
                             {"exp", now + ttl.count()},
                             {"jti", randomHex(16)}};
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return makeError(ErrorCode::kInternal, "cannot allocate a token");
  JwtPtr jwt(raw);
  std::string text = json::dump(claims);
  if (jwt_add_grants_json(jwt.get(), text.c_str()) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key_.data()),
                  static_cast<int>(key_.size())) != 0) {
    return makeError(ErrorCode::kInternal, "cannot build a token");
  }
  std::unique_ptr<char, CharDeleter> out(jwt_encode_str(jwt.get()));
  if (!out) return makeError(ErrorCode::kInternal, "cannot sign a token");
  return std::string(out.get());
}

Result<Claims> TokenService::verify(std::string_view token, TokenType expected) const {
  if (token.empty()) return unauthenticated("missing bearer token");
  std::string t(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, t.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                 static_cast<int>(key_.size())) != 0) {
    if (raw) jwt_free(raw);
    return unauthenticated("invalid token: malformed or bad signature");
  }
  JwtPtr jwt(raw);
  // Only our own algorithm is acceptable; this shuts out "alg": "none" and key confusion.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256)
    return unauthenticated("invalid token: wrong algorithm");
  std::unique_ptr<char, CharDeleter> grants(jwt_get_grants_json(jwt.get(), nullptr));
  if (!grants) return unauthenticated("invalid token: no claims");
  auto parsed = json::parse(grants.get());
  if (!parsed || !parsed->is_object()) return unauthenticated("invalid token: bad claims");
  const auto& o = parsed->get_object();

  Claims c;
  auto sub = json::getString(o, "sub");
  auto type = json::getString(o, "type");
  auto exp = json::getInt(o, "exp");
  auto iat = json::getInt(o, "iat");
  if (!sub || !type || !exp || !iat) return unauthenticated("invalid token: missing claims");
  c.subject = *sub;
  c.expires_at = *exp;
  c.issued_at = *iat;
  c.organization = json::getString(o, "organization").value_or("");
  c.id = json::getString(o, "jti").value_or("");
  if (const auto* roles = json::findArray(o, "roles")) {
    for (const auto& r : *roles) {
      if (r.is_string()) c.roles.emplace_back(r.get_string());
    }
  }
  if (*type == "access") {
    c.type = TokenType::kAccess;
  } else if (*type == "refresh") {
    c.type = TokenType::kRefresh;
  } else {
    return unauthenticated("invalid token: unknown token type");
  }
  if (c.type != expected) {
    return unauthenticated(fmt::format("a {} token cannot be used here; send the {} token",
                                       typeName(c.type), typeName(expected)));
  }
  if (clock_.nowSeconds() >= c.expires_at) return unauthenticated("token has expired");
  if (auto nbf = json::getInt(o, "nbf"); nbf && clock_.nowSeconds() + 60 < *nbf) {
    return unauthenticated("token is not valid yet");
  }
  return c;
}

Result<std::string> loadOrCreateKey(const std::string& path) {
  if (files::exists(path)) {
    OAK_ASSIGN_OR_RETURN(auto hex, files::read(path));
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
    if (hex.size() < 64) {
      return makeError(ErrorCode::kInternal,
                       fmt::format("{} is damaged: expected at least 64 hex digits", path));
    }
    return hex;
  }
  std::string key = randomHex(32);
  OAK_TRY(files::writeAtomic(path, key + "\n", 0600));
  return key;
}

}  // namespace oak::auth
