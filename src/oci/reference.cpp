#include "oci/reference.h"

#include <fmt/format.h>

#include <charconv>

#include "oci/digest.h"

namespace oak::oci {

namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}

// One path component: lowercase alphanumerics separated by '.', '_', '__' or a run of '-'.
bool validComponent(std::string_view c) {
  if (c.empty() || !isLowerAlnum(c.front()) || !isLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (isLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !isLowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j;
  }
  return true;
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  auto word = [](char c) { return isAlnum(c) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool validHostname(std::string_view h) {
  if (h.empty()) return false;
  size_t start = 0;
  while (start <= h.size()) {
    size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? h.npos : dot - start);
    if (label.empty() || !isAlnum(label.front()) || !isAlnum(label.back())) return false;
    for (char c : label) {
      if (!isAlnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// "host", "host:port", "[v6]" or "[v6]:port".
bool validRegistry(std::string_view r) {
  std::string_view host = r;
  std::string_view port;
  if (r.front() == '[') {
    size_t close = r.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view inner = r.substr(1, close - 1);
    if (inner.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) return false;
    std::string_view rest = r.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    if (!rest.empty()) port = rest.substr(1);
    if (rest.size() == 1) return false;
    host = {};
  } else {
    size_t colon = r.find(':');
    if (colon != std::string_view::npos) {
      host = r.substr(0, colon);
      port = r.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (!validHostname(host)) return false;
  }
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      return false;
    }
  }
  return true;
}

// The first component names a registry when it looks like a host, as Docker decides it.
bool looksLikeRegistry(std::string_view first) {
  return first.find_first_of(".:[") != std::string_view::npos || first == "localhost";
}

}  // namespace

std::string Reference::str() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<Reference> Reference::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return makeError(ErrorCode::kUnprocessable, fmt::format("image reference '{}': {}", text, why));
  };
  if (text.empty()) return bad("is empty");
  if (text.find("://") != std::string_view::npos) return bad("must not contain a URL scheme");
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return bad("contains whitespace or control characters");
    }
  }

  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (auto ok = checkDigest(digest); !ok) return bad(ok.error().message);
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  // A tag follows the last ':' that comes after the last '/' (a registry port comes before it).
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!validTag(tag)) {
      return bad(fmt::format("tag '{}' is invalid (letters, digits, '_', '.', '-'; at most {})",
                             tag, kMaxTagLength));
    }
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("has no repository name");

  std::string_view repository = rest;
  if (size_t first = rest.find('/');
      first != std::string_view::npos && looksLikeRegistry(rest.substr(0, first))) {
    std::string_view registry = rest.substr(0, first);
    if (!validRegistry(registry)) return bad(fmt::format("registry '{}' is invalid", registry));
    ref.registry = std::string(registry);
    repository = rest.substr(first + 1);
  } else {
    ref.registry = std::string(kDockerHub);
  }
  if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io") {
    ref.registry = std::string(kDockerHub);
  }

  if (repository.empty()) return bad("has no repository name");
  if (repository.size() > kMaxNameLength) {
    return bad(fmt::format("repository is longer than {} characters", kMaxNameLength));
  }
  for (size_t start = 0;;) {
    size_t end = repository.find('/', start);
    std::string_view component =
        repository.substr(start, end == repository.npos ? end : end - start);
    if (!validComponent(component)) {
      bool upper = component.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != component.npos;
      return bad(upper ? fmt::format("repository '{}' must be lowercase", repository)
                       : fmt::format("repository component '{}' is invalid (lowercase letters and "
                                     "digits, separated by '.', '_', '__' or '-')",
                                     component));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  ref.repository = std::string(repository);
  if (ref.registry == kDockerHub && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace oak::oci
