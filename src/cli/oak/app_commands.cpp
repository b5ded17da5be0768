// oak app ls [-A], oak app rm NAME|ID

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <ostream>

#include "cli/oak/commands.h"
#include "cli/oak/resolve.h"
#include "cli/oak/text.h"
#include "cli/oak/views.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

void printJson(CommandContext& ctx, const bj::value& v) {
  *ctx.out << prettyJson(v) << "\n";
}

void printList(CommandContext& ctx, const bj::array& list, std::string_view none,
               const std::function<std::string(const bj::array&)>& render) {
  if (ctx.json()) {
    printJson(ctx, list);
  } else if (list.empty()) {
    *ctx.out << none << "\n";
  } else {
    *ctx.out << render(list);
  }
}

namespace {

Status listApplications(CommandContext& ctx, bool all) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto apps,
                       all ? client->api().allApplications() : client->api().myApplications());
  printList(ctx, apps, "No applications yet: oak apply -f SLA.json creates some.",
            renderApplications);
  return {};
}

Status removeApplication(CommandContext& ctx, const std::string& ref) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto app, resolveApplication(client->api(), ref));
  std::string id = idOf(app);
  OAK_TRY(client->api().deleteApplication(id));
  const auto* services = json::findArray(app, "microservices");
  size_t n = services ? services->size() : 0;
  std::string name = json::getString(app, "application_name").value_or("") + "." +
                     json::getString(app, "application_namespace").value_or("");
  if (ctx.json()) {
    printJson(ctx, bj::object{{"removed", id}});
  } else {
    *ctx.out << fmt::format("Removed application {} ({}) and its {} service{}.\n", name, id, n,
                            n == 1 ? "" : "s");
  }
  return {};
}

}  // namespace

void addAppCommands(CLI::App& app, CommandContext& ctx, Action& action) {
  auto* group = app.add_subcommand("app", "applications")->require_subcommand(1);
  auto all = std::make_shared<bool>(false);
  auto* ls = group->add_subcommand("ls", "list your applications");
  ls->add_flag("-A,--all", *all, "every user's applications (Admins)");
  onRun(ls, action, [&ctx, all] { return listApplications(ctx, *all); });

  auto ref = std::make_shared<std::string>();
  auto* rm = group->add_subcommand("rm", "remove an application with all its services");
  rm->add_option("application", *ref, "NAME, NAME.NAMESPACE or ID")->required();
  onRun(rm, action, [&ctx, ref] { return removeApplication(ctx, *ref); });
}

}  // namespace oak::cli
