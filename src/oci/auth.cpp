#include "oci/auth.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "common/json.h"

namespace oak::oci {

namespace {

// A token expires this much earlier here than at the registry, so that it is not used in its
// last seconds while a request is on the way.
constexpr std::chrono::seconds kExpiryMargin{5};

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string percentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Cursor over a header value.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  void skip() { ++pos_; }
  void skipSpace() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  std::string_view token() {
    size_t start = pos_;
    while (!done() && isTokenChar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // A quoted-string after its opening quote; nullopt when unterminated.
  std::optional<std::string> quoted() {
    std::string out;
    while (!done()) {
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c == '\\' && !done()) c = s_[pos_++];
      out.push_back(c);
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::string Challenge::param(const std::string& key) const {
  auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

Result<std::vector<Challenge>> parseChallenges(std::string_view header) {
  auto bad = [&](std::string_view why) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("WWW-Authenticate '{}': {}", header, why));
  };
  std::vector<Challenge> out;
  Scanner in(header);
  while (true) {
    in.skipSpace();
    while (in.peek() == ',') {
      in.skip();
      in.skipSpace();
    }
    if (in.done()) break;
    std::string_view name = in.token();
    if (name.empty()) return bad(fmt::format("unexpected '{}'", in.peek()));
    in.skipSpace();
    if (in.peek() != '=') {
      out.push_back(Challenge{lower(name), {}});
      continue;
    }
    // An auth-param of the current challenge (or the '=' padding of a token68, ignored).
    in.skip();
    while (in.peek() == '=') in.skip();
    in.skipSpace();
    if (out.empty()) return bad("parameter before the scheme");
    std::string value;
    if (in.peek() == '"') {
      in.skip();
      auto q = in.quoted();
      if (!q) return bad("unterminated quoted string");
      value = std::move(*q);
    } else {
      value = std::string(in.token());
    }
    out.back().params[lower(name)] = std::move(value);
    in.skipSpace();
    if (!in.done() && in.peek() != ',') return bad(fmt::format("unexpected '{}'", in.peek()));
  }
  if (out.empty()) return bad("no challenge");
  return out;
}

std::string tokenUrl(const Challenge& bearer, std::string_view fallback_scope) {
  std::string url = bearer.param("realm");
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  if (auto service = bearer.param("service"); !service.empty()) {
    url += fmt::format("{}service={}", sep, percentEncode(service));
    sep = '&';
  }
  std::string scope = bearer.param("scope");
  if (scope.empty()) scope = std::string(fallback_scope);
  if (!scope.empty()) url += fmt::format("{}scope={}", sep, percentEncode(scope));
  return url;
}

Result<Token> parseTokenResponse(std::string_view body) {
  auto bad = [](std::string_view why) {
    return makeError(ErrorCode::kUnprocessable, fmt::format("token service answer: {}", why));
  };
  auto parsed = json::parse(body);
  if (!parsed || !parsed->is_object()) return bad("not a JSON object");
  const auto& o = parsed->get_object();
  Token t;
  t.value = json::getString(o, "token").value_or("");
  if (t.value.empty()) t.value = json::getString(o, "access_token").value_or("");
  if (t.value.empty()) return bad("no token");
  if (auto expires = json::getInt(o, "expires_in"); expires && *expires > 0) {
    t.lifetime = std::chrono::seconds(*expires);
  }
  return t;
}

std::string basicAuthorization(std::string_view user, std::string_view password) {
  std::string plain = fmt::format("{}:{}", user, password);
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size()));
  encoded.resize(static_cast<size_t>(n));
  return "Basic " + encoded;
}

std::optional<std::string> TokenCache::get(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || clock_.now() >= it->second.expires) return std::nullopt;
  return it->second.token;
}

void TokenCache::put(const std::string& key, const Token& token) {
  auto margin = std::min(kExpiryMargin, token.lifetime / 2);
  std::lock_guard lock(mutex_);
  entries_[key] = Entry{token.value, clock_.now() + token.lifetime - margin};
}

void TokenCache::drop(const std::string& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

}  // namespace oak::oci
