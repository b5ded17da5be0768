// oak apply -f SLA.json [--no-wait] [--timeout 5m]

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <ostream>

#include "cli/oak/commands.h"
#include "cli/oak/sla_apply.h"
#include "cli/oak/text.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

struct ApplyFlags {
  std::string file;
  bool no_wait = false;
  std::string timeout = "5m";
};

// "2 instances running, 1 completed".
std::string summary(const std::vector<bj::object>& services) {
  size_t running = 0, completed = 0;
  for (const auto& s : services) {
    const auto* list = json::findArray(s, "instance_list");
    if (list == nullptr) continue;
    for (const auto& i : *list) {
      auto status = i.is_object() ? json::getString(i.get_object(), "status") : std::nullopt;
      running += status == "RUNNING";
      completed += status == "COMPLETED";
    }
  }
  std::string text = fmt::format("{} instance{} running", running, running == 1 ? "" : "s");
  if (completed > 0) text += fmt::format(", {} completed", completed);
  return text;
}

Status apply(CommandContext& ctx, const ApplyFlags& f) {
  OAK_ASSIGN_OR_RETURN(auto timeout, parseDuration(f.timeout));
  OAK_ASSIGN_OR_RETURN(auto sla, readSla(f.file));
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  auto start = ctx.clock->now();
  // Steps and progress are for people; with -o json stdout carries only the result.
  std::ostream& log = ctx.json() ? *ctx.err : *ctx.out;
  auto targets = applySla(client->api(), sla, [&log](const std::string& step) {
    log << step << "\n" << std::flush;
  });
  if (!targets) {
    auto e = targets.error();
    // The root's verdict on the file names the field; say which file.
    if (e.code == ErrorCode::kUnprocessable || e.code == ErrorCode::kInvalidArgument) {
      e.message = f.file + ": " + e.message;
    }
    return e;
  }
  std::vector<bj::object> services;
  if (f.no_wait) {
    for (const auto& t : *targets) {
      OAK_ASSIGN_OR_RETURN(auto s, client->api().service(t.service_id));
      services.push_back(std::move(s));
    }
  } else {
    ProgressView view(log, !ctx.json() && ctx.out_is_terminal, ctx.terminal_width);
    WatchOptions options;
    options.timeout = timeout;
    OAK_ASSIGN_OR_RETURN(
        services, watchDeployment(client->api(), *targets, options, *ctx.clock, ctx.sleep, view));
  }
  if (ctx.json()) {
    bj::array out;
    for (auto& s : services) out.push_back(std::move(s));
    printJson(ctx, out);
    return {};
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock->now() - start);
  if (f.no_wait) {
    *ctx.out << "Not waiting; oak service ls shows how the instances are doing.\n";
  } else {
    *ctx.out << fmt::format("Done in {}: {}.\n", formatDuration(took), summary(services));
  }
  return {};
}

}  // namespace

void addApplyCommand(CLI::App& app, CommandContext& ctx, Action& action) {
  auto flags = std::make_shared<ApplyFlags>();
  auto* cmd = app.add_subcommand("apply", "deploy an SLA file and wait until its instances run");
  cmd->footer(
      "Creates the SLA's applications with their services; to an application of the same name\n"
      "that exists already, adds the services it lacks and leaves the others as they are.\n"
      "Every service without an instance gets one; then waits until every instance is RUNNING\n"
      "(one-shot services: COMPLETED), or says why one is not and exits with 1.");
  cmd->add_option("-f,--file", flags->file, "the SLA (JSON)")->required();
  cmd->add_flag("--no-wait", flags->no_wait, "return once the instances are requested");
  cmd->add_option("--timeout", flags->timeout, "how long to wait (e.g. 90s, 5m)")
      ->capture_default_str();
  onRun(cmd, action, [&ctx, flags] { return apply(ctx, *flags); });
}

}  // namespace oak::cli
