// oak cluster ls, oak worker ls

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <ostream>

#include "cli/oak/commands.h"
#include "cli/oak/resolve.h"
#include "cli/oak/views.h"

namespace oak::cli {

namespace {

Status listClusters(CommandContext& ctx) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto clusters, client->api().clusters());
  printList(ctx, clusters,
            "No clusters have joined yet (oakestra cluster --root URL --token TOKEN).",
            renderClusters);
  return {};
}

Status listWorkers(CommandContext& ctx) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto clusters, client->api().clusters());
  OAK_ASSIGN_OR_RETURN(auto services, myServices(client->api()));
  auto view = workerView(clusters, services);
  if (ctx.json()) {
    printJson(ctx, view);
    return {};
  }
  *ctx.err << "oak: the root knows workers as their clusters' totals, and by name where your "
              "instances run\n";
  *ctx.out << renderWorkerView(view);
  return {};
}

}  // namespace

void addInfrastructureCommands(CLI::App& app, CommandContext& ctx, Action& action) {
  auto* cluster = app.add_subcommand("cluster", "clusters")->require_subcommand(1);
  onRun(cluster->add_subcommand("ls",
                                "list the clusters: state, workers, free and total CPU and memory"),
        action, [&ctx] { return listClusters(ctx); });

  auto* worker = app.add_subcommand("worker", "workers")->require_subcommand(1);
  onRun(worker->add_subcommand("ls",
                               "list the workers as the root sees them: per cluster and "
                               "architecture (count, free and total capacity), and by name where "
                               "your instances run"),
        action, [&ctx] { return listWorkers(ctx); });
}

}  // namespace oak::cli
