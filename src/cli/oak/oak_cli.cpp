#include "cli/oak/oak_cli.h"

#include <CLI/CLI.hpp>

#include <ostream>

#include "cli/oak/commands.h"

namespace oak::cli {

void onRun(CLI::App* cmd, Action& action, Action run) {
  cmd->callback([&action, run = std::move(run)] { action = run; });
}

int runOak(int argc, const char* const* argv, CommandContext& ctx) {
  CLI::App app{
      "oak: command-line client of the Oakestra root orchestrator.\n"
      "Log in once (oak login), then apply SLA files and watch what they became.\n"
      "The root's URL and token also come from $OAK_URL and $OAK_TOKEN; the session is kept in\n"
      "$OAK_CONFIG (default ~/.config/oak/config.json).",
      "oak"};
  app.set_version_flag("--version", std::string("oak ") + OAK_VERSION);
  app.require_subcommand(1);
  // Global flags may also follow the subcommand (oak service ls -o json).
  app.fallthrough();
  app.add_option("--url", ctx.url_flag,
                 "root orchestrator URL (default: $OAK_URL, the one of oak login, else "
                 "http://localhost:10000)");
  app.add_option("-o,--output", ctx.output, "table (for people) or json (for scripts)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();

  Action action;
  addSessionCommands(app, ctx, action);
  addApplyCommand(app, ctx, action);
  addAppCommands(app, ctx, action);
  addServiceCommands(app, ctx, action);
  addLogsCommand(app, ctx, action);
  addInfrastructureCommands(app, ctx, action);
  addApiCommand(app, ctx, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, *ctx.out, *ctx.err) == 0 ? 0 : 2;
  }
  if (!action) return 2;
  auto done = action();
  ctx.out->flush();
  if (!done) {
    *ctx.err << "oak: " << done.error().message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace oak::cli
