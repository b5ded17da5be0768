#include "cli/oak/config.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cstdlib>

#include "common/files.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

Environment processEnvironment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

std::string configPath(const Environment& env) {
  if (auto p = env("OAK_CONFIG")) return *p;
  if (auto xdg = env("XDG_CONFIG_HOME")) return *xdg + "/oak/config.json";
  return env("HOME").value_or(".") + "/.config/oak/config.json";
}

Result<StoredSession> loadSession(const std::string& path) {
  StoredSession s;
  if (!files::exists(path)) return s;
  OAK_ASSIGN_OR_RETURN(auto text, files::read(path));
  auto v = json::parse(text);
  if (!v || !v->is_object()) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("{} is damaged (not a JSON object): run oak login", path));
  }
  const auto& o = v->get_object();
  s.url = json::getString(o, "url").value_or("");
  s.username = json::getString(o, "username").value_or("");
  s.token = json::getString(o, "token").value_or("");
  s.refresh_token = json::getString(o, "refresh_token").value_or("");
  return s;
}

Status saveSession(const std::string& path, const StoredSession& s) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    OAK_TRY(files::ensureDirectory(path.substr(0, slash), 0700));
  }
  bj::object o{{"url", s.url},
               {"username", s.username},
               {"token", s.token},
               {"refresh_token", s.refresh_token}};
  return files::writeAtomic(path, bj::serialize(o) + "\n", 0600);
}

std::string normalizeUrl(std::string_view url) {
  std::string out(url);
  if (out.find("://") == std::string::npos) out = "http://" + out;
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

Endpoint resolveEndpoint(const std::string& url_flag, const Environment& env,
                         const StoredSession& stored) {
  Endpoint e;
  if (!url_flag.empty()) {
    e.url = normalizeUrl(url_flag);
  } else if (auto u = env("OAK_URL")) {
    e.url = normalizeUrl(*u);
  } else if (!stored.url.empty()) {
    e.url = normalizeUrl(stored.url);
  } else {
    e.url = std::string(kDefaultUrl);
  }
  if (auto t = env("OAK_TOKEN")) {
    e.token = *t;
    e.token_from_env = true;
  } else if (!stored.url.empty() && normalizeUrl(stored.url) == e.url) {
    e.token = stored.token;
    e.refresh_token = stored.refresh_token;
    e.token_from_file = true;
  }
  return e;
}

}  // namespace oak::cli
