#pragma once
// The subcommands of `oak`. Each `add...` function declares its subcommands, flags and help on
// `app`; the one the user chose leaves its work in `action`, which `runOak` runs after parsing.

#include <boost/json/array.hpp>

#include <functional>
#include <string>
#include <string_view>

#include "cli/oak/command_context.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace oak::cli {

using Action = std::function<Status()>;

// Makes `run` the action when the user chose `cmd`.
void onRun(CLI::App* cmd, Action& action, Action run);

void addSessionCommands(CLI::App& app, CommandContext& ctx, Action& action);  // login, logout
void addApplyCommand(CLI::App& app, CommandContext& ctx, Action& action);
void addAppCommands(CLI::App& app, CommandContext& ctx, Action& action);
void addServiceCommands(CLI::App& app, CommandContext& ctx, Action& action);
void addLogsCommand(CLI::App& app, CommandContext& ctx, Action& action);
void addInfrastructureCommands(CLI::App& app, CommandContext& ctx,
                               Action& action);  // cluster, worker
void addApiCommand(CLI::App& app, CommandContext& ctx, Action& action);

// Prints `v` as indented JSON (for `-o json`).
void printJson(CommandContext& ctx, const boost::json::value& v);
// Prints a list: as JSON with -o json, else `render(list)`, or `none` when the list is empty.
void printList(CommandContext& ctx, const boost::json::array& list, std::string_view none,
               const std::function<std::string(const boost::json::array&)>& render);

}  // namespace oak::cli
