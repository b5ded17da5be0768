// oak service ls [APP] | inspect SERVICE | scale SERVICE N | rm SERVICE

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <ostream>

#include "cli/oak/commands.h"
#include "cli/oak/resolve.h"
#include "cli/oak/text.h"
#include "cli/oak/views.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

struct ScaleFlags {
  std::string service;
  int64_t instances = 1;
  bool wait = false;
  std::string timeout = "5m";
};

Status listServices(CommandContext& ctx, const std::string& app_ref) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  bj::array services;
  if (app_ref.empty()) {
    OAK_ASSIGN_OR_RETURN(services, myServices(client->api()));
  } else {
    OAK_ASSIGN_OR_RETURN(auto app, resolveApplication(client->api(), app_ref));
    OAK_ASSIGN_OR_RETURN(services, client->api().services(idOf(app)));
  }
  printList(ctx, services, "No services.", renderServices);
  return {};
}

Status inspectService(CommandContext& ctx, const std::string& ref) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto service, resolveService(client->api(), ref));
  if (ctx.json()) {
    printJson(ctx, service);
    return {};
  }
  // Cluster names only make the table friendlier; ids do when they cannot be had.
  auto clusters = client->api().clusters();
  *ctx.out << renderServiceDetails(service, clusters ? clusterNames(*clusters) : ClusterNames{});
  return {};
}

// The instance numbers of a service, in order.
std::vector<int64_t> instanceNumbers(const bj::object& service) {
  std::vector<int64_t> numbers;
  if (const auto* list = json::findArray(service, "instance_list")) {
    for (const auto& i : *list) {
      if (!i.is_object()) continue;
      if (auto n = json::getInt(i.get_object(), "instance_number")) numbers.push_back(*n);
    }
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

Status scaleService(CommandContext& ctx, const ScaleFlags& f) {
  if (f.instances < 0) {
    return makeError(ErrorCode::kInvalidArgument, "instances: must be 0 or more");
  }
  OAK_ASSIGN_OR_RETURN(auto timeout, parseDuration(f.timeout));
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  auto& api = client->api();
  OAK_ASSIGN_OR_RETURN(auto service, resolveService(api, f.service));
  std::string id = idOf(service);
  auto numbers = instanceNumbers(service);
  auto wanted = static_cast<size_t>(f.instances);
  if (wanted == 0 && !numbers.empty()) {
    OAK_TRY(api.removeInstance(id, -1));
  } else {
    // The newest instances go first.
    for (size_t n = numbers.size(); n > wanted; --n)
      OAK_TRY(api.removeInstance(id, numbers[n - 1]));
  }
  for (size_t n = numbers.size(); n < wanted; ++n) OAK_TRY(api.requestInstance(id));
  std::string name = serviceName(service);
  std::ostream& log = ctx.json() ? *ctx.err : *ctx.out;
  log << fmt::format("Scaled {} from {} to {} instance{}.\n", name, numbers.size(), wanted,
                     wanted == 1 ? "" : "s");
  bj::object last;
  if (f.wait && wanted > 0) {
    ProgressView view(log, !ctx.json() && ctx.out_is_terminal, ctx.terminal_width);
    WatchOptions options;
    options.timeout = timeout;
    OAK_ASSIGN_OR_RETURN(
        auto services, watchDeployment(api, {{id, wanted}}, options, *ctx.clock, ctx.sleep, view));
    last = std::move(services.front());
  }
  if (ctx.json()) {
    if (last.empty()) {
      OAK_ASSIGN_OR_RETURN(last, api.service(id));
    }
    printJson(ctx, last);
  }
  return {};
}

Status removeService(CommandContext& ctx, const std::string& ref) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto service, resolveService(client->api(), ref));
  std::string id = idOf(service);
  OAK_TRY(client->api().deleteService(id));
  if (ctx.json()) {
    printJson(ctx, bj::object{{"removed", id}});
  } else {
    *ctx.out << fmt::format("Removed service {} ({}).\n", serviceName(service), id);
  }
  return {};
}

constexpr const char* kServiceHelp =
    "NAME (app.app_ns.service.service_ns), APP.SERVICE, SERVICE or ID";

}  // namespace

void addServiceCommands(CLI::App& app, CommandContext& ctx, Action& action) {
  auto* group = app.add_subcommand("service", "services")->require_subcommand(1);

  auto app_ref = std::make_shared<std::string>();
  auto* ls = group->add_subcommand("ls", "list the services of your applications, or of one");
  ls->add_option("application", *app_ref, "NAME, NAME.NAMESPACE or ID of an application");
  onRun(ls, action, [&ctx, app_ref] { return listServices(ctx, *app_ref); });

  auto ref = std::make_shared<std::string>();
  auto* inspect = group->add_subcommand(
      "inspect", "show a service: definition, status, service addresses and instances");
  inspect->add_option("service", *ref, kServiceHelp)->required();
  onRun(inspect, action, [&ctx, ref] { return inspectService(ctx, *ref); });

  auto flags = std::make_shared<ScaleFlags>();
  auto* scale = group->add_subcommand(
      "scale", "start or stop instances until the service has N (the newest stop first)");
  scale->add_option("service", flags->service, kServiceHelp)->required();
  scale->add_option("instances", flags->instances, "how many instances (0 stops them all)")
      ->required();
  scale->add_flag("--wait", flags->wait, "wait until every instance is RUNNING");
  scale->add_option("--timeout", flags->timeout, "how long to wait (e.g. 90s, 5m)")
      ->capture_default_str();
  onRun(scale, action, [&ctx, flags] { return scaleService(ctx, *flags); });

  auto rm_ref = std::make_shared<std::string>();
  auto* rm = group->add_subcommand("rm", "remove a service and its instances");
  rm->add_option("service", *rm_ref, kServiceHelp)->required();
  onRun(rm, action, [&ctx, rm_ref] { return removeService(ctx, *rm_ref); });
}

}  // namespace oak::cli
