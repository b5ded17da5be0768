#pragma once
// What every `oak` command works with: the global flags, the outside world (environment, network,
// clock, terminal), injected so that commands run in tests against a fake root, and the
// connection to the root with the user's session.

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "cli/oak/config.h"
#include "cli/oak/deployment_watch.h"
#include "cli/oak/root_api.h"
#include "cli/oak/session.h"
#include "cli/oak/transport.h"
#include "common/clock.h"
#include "common/result.h"

namespace oak::cli {

struct CommandContext {
  Environment env;
  std::function<Result<std::unique_ptr<Transport>>(const std::string& url)> connect;
  const Clock* clock = nullptr;
  Sleeper sleep;
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool out_is_terminal = false;
  size_t terminal_width = 0;  // 0 when unknown
  // Asks for a password on the terminal without echoing it; nullopt when there is no terminal.
  std::function<std::optional<std::string>(const std::string& prompt)> ask_password;

  // Global flags.
  std::string url_flag;
  std::string output = "table";
  bool json() const { return output == "json"; }
};

// The process's own world: environment, HTTP, system clock, std streams and the terminal.
CommandContext processContext();

// A connection to the root under the user's session. Refreshed access tokens go back to the
// config file when they came from it.
class Client {
 public:
  static Result<std::unique_ptr<Client>> open(CommandContext& ctx);
  RootApi& api() { return api_; }
  Session& session() { return session_; }

 private:
  Client(std::unique_ptr<Transport> transport, Endpoint endpoint, CommandContext& ctx);
  std::unique_ptr<Transport> transport_;
  Session session_;
  RootApi api_;
};

}  // namespace oak::cli
