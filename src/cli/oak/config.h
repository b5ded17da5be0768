#pragma once
// Where `oak` keeps the session of `oak login` (one root at a time), and how the command line and
// the environment override it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::cli {

inline constexpr std::string_view kDefaultUrl = "http://localhost:10000";

// The file's content: the root it was issued by and the tokens of `oak login`.
struct StoredSession {
  std::string url;
  std::string username;
  std::string token;
  std::string refresh_token;
};

// An environment variable, or nullopt. Injected, so tests leave the process's environment alone.
using Environment = std::function<std::optional<std::string>(const char* name)>;
Environment processEnvironment();

// $OAK_CONFIG, else $XDG_CONFIG_HOME/oak/config.json, else $HOME/.config/oak/config.json.
std::string configPath(const Environment& env);
// An absent file is an empty session; a damaged one is an error that names the file.
Result<StoredSession> loadSession(const std::string& path);
// Written atomically, mode 0600 in a folder of mode 0700: the file holds credentials.
Status saveSession(const std::string& path, const StoredSession& s);

// "host:port" and "http://host:port/" both become "http://host:port".
std::string normalizeUrl(std::string_view url);

// What a command talks to, and with which credentials.
struct Endpoint {
  std::string url;
  std::string token;
  std::string refresh_token;
  // Where the token came from, for messages ("$OAK_TOKEN", the config file, or nothing).
  bool token_from_env = false;
  // Tokens of the file: a refreshed access token is written back.
  bool token_from_file = false;
};

// --url beats $OAK_URL beats the file, which beats the default; $OAK_TOKEN beats the file's token.
// The file's tokens are used only with the root that issued them.
Endpoint resolveEndpoint(const std::string& url_flag, const Environment& env,
                         const StoredSession& stored);

}  // namespace oak::cli
