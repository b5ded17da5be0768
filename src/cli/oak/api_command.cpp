// oak api METHOD PATH [-d JSON|@FILE]: any request, with the session's token.

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cctype>
#include <ostream>

#include "cli/oak/commands.h"
#include "common/files.h"
#include "common/json.h"

namespace oak::cli {

namespace {

struct ApiFlags {
  std::string method = "GET";
  std::string path;
  std::string data;
};

Status rawRequest(CommandContext& ctx, ApiFlags f) {
  if (f.data.starts_with("@")) {
    OAK_ASSIGN_OR_RETURN(f.data, files::read(f.data.substr(1)));
  }
  for (auto& c : f.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  http::Method method = http::methodFromName(f.method);
  if (method == http::Method::kOther) {
    return makeError(ErrorCode::kInvalidArgument,
                     "method: '" + f.method + "' is not an HTTP method");
  }
  if (!f.path.starts_with("/")) f.path = "/" + f.path;
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto reply, client->session().send(method, f.path, f.data));
  if (reply.status / 100 != 2) return replyError(reply);
  auto v = json::parse(reply.body);
  if (v) {
    printJson(ctx, *v);
  } else {
    *ctx.out << reply.body;
  }
  return {};
}

}  // namespace

void addApiCommand(CLI::App& app, CommandContext& ctx, Action& action) {
  auto flags = std::make_shared<ApiFlags>();
  auto* cmd = app.add_subcommand("api", "send any request to the root's API with your session");
  cmd->footer(
      "e.g. oak api GET /api/users; the API's OpenAPI document: oak api GET "
      "/api/docs/openapi.json");
  cmd->add_option("method", flags->method, "GET, POST, PUT, DELETE, ...")->required();
  cmd->add_option("path", flags->path, "e.g. /api/clusters")->required();
  cmd->add_option("-d,--data", flags->data, "the JSON body, or @FILE");
  onRun(cmd, action, [&ctx, flags] { return rawRequest(ctx, *flags); });
}

}  // namespace oak::cli
