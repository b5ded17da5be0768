// oak login, oak logout.

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <istream>
#include <ostream>

#include "cli/oak/commands.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

struct LoginFlags {
  std::string username = "Admin";
  std::string password;
  bool password_stdin = false;
};

Result<std::string> password(CommandContext& ctx, const LoginFlags& f) {
  if (!f.password.empty()) return f.password;
  if (f.password_stdin) {
    std::string line;
    std::getline(*ctx.in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  if (auto p = ctx.env("OAK_PASSWORD")) return *p;
  if (ctx.ask_password) {
    if (auto p = ctx.ask_password(fmt::format("Password for {}: ", f.username))) return *p;
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "a password is needed: -p PASSWORD, $OAK_PASSWORD or --password-stdin");
}

Status login(CommandContext& ctx, const LoginFlags& f) {
  std::string path = configPath(ctx.env);
  // A damaged file is replaced by this login.
  auto loaded = loadSession(path);
  StoredSession stored = loaded ? *loaded : StoredSession{};
  Endpoint endpoint = resolveEndpoint(ctx.url_flag, ctx.env, stored);
  OAK_ASSIGN_OR_RETURN(auto pw, password(ctx, f));
  OAK_ASSIGN_OR_RETURN(auto transport, ctx.connect(endpoint.url));
  bj::object body{{"username", f.username}, {"password", pw}};
  OAK_ASSIGN_OR_RETURN(auto reply, transport->send({http::Method::kPost, "/api/auth/login",
                                                    bj::serialize(body), ""}));
  if (reply.status != 200) return replyError(reply);
  auto v = json::parse(reply.body);
  const bj::object* o = v && v->is_object() ? &v->get_object() : nullptr;
  StoredSession s{endpoint.url, f.username, o ? json::getString(*o, "token").value_or("") : "",
                  o ? json::getString(*o, "refresh_token").value_or("") : ""};
  if (s.token.empty()) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("{} answered the login without a token", endpoint.url));
  }
  OAK_TRY(saveSession(path, s));
  *ctx.out << fmt::format("Logged in to {} as {}.\n", s.url, s.username);
  if (ctx.env("OAK_TOKEN")) {
    *ctx.err << "oak: note: $OAK_TOKEN is set and takes precedence over this login\n";
  }
  return {};
}

Status logout(CommandContext& ctx) {
  std::string path = configPath(ctx.env);
  OAK_ASSIGN_OR_RETURN(auto stored, loadSession(path));
  if (stored.token.empty() && stored.refresh_token.empty()) {
    *ctx.out << "Not logged in.\n";
    return {};
  }
  std::string url = stored.url;
  OAK_TRY(saveSession(path, StoredSession{stored.url, "", "", ""}));
  *ctx.out << fmt::format("Logged out of {}.\n", url);
  return {};
}

}  // namespace

void addSessionCommands(CLI::App& app, CommandContext& ctx, Action& action) {
  auto flags = std::make_shared<LoginFlags>();
  auto* login_cmd = app.add_subcommand("login", "log in and keep the session for later commands");
  login_cmd->footer(
      "The root's URL and the access and refresh tokens go to the config file (mode 0600);\n"
      "expired access tokens are refreshed transparently until the refresh token expires.");
  login_cmd->add_option("-u,--username", flags->username, "user name")->capture_default_str();
  login_cmd->add_option("-p,--password", flags->password,
                        "password (else $OAK_PASSWORD, --password-stdin, or asked for)");
  login_cmd->add_flag("--password-stdin", flags->password_stdin,
                      "read the password from the first line of stdin");
  onRun(login_cmd, action, [&ctx, flags] { return login(ctx, *flags); });

  auto* logout_cmd = app.add_subcommand("logout", "forget the session's tokens");
  onRun(logout_cmd, action, [&ctx] { return logout(ctx); });
}

}  // namespace oak::cli
