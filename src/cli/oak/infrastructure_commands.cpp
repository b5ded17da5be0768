// oak cluster ls, oak worker ls, oak alerts

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <ostream>

#include "cli/oak/commands.h"
#include "cli/oak/resolve.h"
#include "cli/oak/views.h"

namespace oak::cli {

namespace bj = boost::json;

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
  OAK_ASSIGN_OR_RETURN(auto workers, client->api().workers());
  WorkerInstances instances;
  if (!ctx.json() && !workers.empty()) {
    OAK_ASSIGN_OR_RETURN(auto services, myServices(client->api()));
    instances = instancesPerWorker(services);
  }
  printList(ctx, workers,
            "No workers reported (oak cluster ls shows whether the clusters are connected).",
            [&instances](const bj::array& list) { return renderWorkers(list, instances); });
  return {};
}

Status listAlerts(CommandContext& ctx) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto alerts, client->api().alerts());
  printList(ctx, alerts, "No active alerts.",
            [&ctx](const bj::array& list) { return renderAlerts(list, ctx.clock->now()); });
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
                               "list every cluster's workers as their clusters last reported them "
                               "(active or lost), and how many of your instances each runs"),
        action, [&ctx] { return listWorkers(ctx); });

  onRun(app.add_subcommand("alerts",
                           "list what the root finds wrong now (firing first, then pending); "
                           "exits 0 either way"),
        action, [&ctx] { return listAlerts(ctx); });
}

}  // namespace oak::cli
