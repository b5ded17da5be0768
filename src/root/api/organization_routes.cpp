// Organizations (/api/organization); Admin only.

#include <boost/json.hpp>

#include "root/accounts.h"
#include "root/api/routes.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

void addOrganizationRoutes(http::Router& r, RootContext& ctx) {
  auto& acc = *ctx.accounts;
  addAuthed(r, ctx, Method::kGet, "/api/organization",
            {"List organizations", "organizations", true, "Admin", "", "OrganizationList"},
            [&acc](const http::Request&, const Caller&) -> Result<bj::value> {
              return acc.listOrganizations();
            });
  addAuthed(
      r, ctx, Method::kPost, "/api/organization",
      {"Create an organization", "organizations", true, "Admin", "Organization", "Organization"},
      [&acc](const http::Request& req, const Caller&) -> Result<bj::value> {
        OAK_ASSIGN_OR_RETURN(auto body, objectBody(req));
        return acc.createOrganization(body);
      });
  addAuthed(r, ctx, Method::kPut, "/api/organization/{organization_id}",
            {"Rename an organization or replace its members", "organizations", true, "Admin",
             "Organization", "Organization"},
            [&acc](const http::Request& req, const Caller&) -> Result<bj::value> {
              OAK_ASSIGN_OR_RETURN(auto body, objectBody(req));
              return acc.updateOrganization(req.param("organization_id"), body);
            });
  addAuthed(r, ctx, Method::kDelete, "/api/organization/{organization_id}",
            {"Delete an organization", "organizations", true, "Admin", "", "Message"},
            [&acc](const http::Request& req, const Caller&) -> Result<bj::value> {
              OAK_TRY(acc.deleteOrganization(req.param("organization_id")));
              return bj::object{{"message", "Organization deleted"}};
            });
}

}  // namespace oak::root::api
