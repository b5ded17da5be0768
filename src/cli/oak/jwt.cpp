#include "cli/oak/jwt.h"

#include <boost/json.hpp>

#include "common/json.h"

namespace oak::cli {

namespace {

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> decodeBase64Url(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = sextet(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

std::optional<TokenClaims> readClaims(std::string_view token) {
  size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto payload = decodeBase64Url(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  auto v = json::parse(*payload);
  if (!v || !v->is_object()) return std::nullopt;
  TokenClaims c;
  c.subject = json::getString(v->get_object(), "sub").value_or("");
  c.expires_at = json::getInt(v->get_object(), "exp").value_or(0);
  return c;
}

}  // namespace oak::cli
