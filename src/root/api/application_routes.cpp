// Applications (/api/application, /api/applications) and services (/api/service, /api/services),
// including instance scale up/down.

#include <boost/json.hpp>

#include "common/json.h"
#include "root/api/routes.h"
#include "root/applications.h"

namespace oak::root::api {

namespace bj = boost::json;
using http::Method;

namespace {

// An SLA body: a JSON object, or (as the original accepted) a JSON string holding one.
Result<bj::value> slaBody(const http::Request& req) {
  if (req.body.empty())
    return makeError(ErrorCode::kInvalidArgument, "the request needs an SLA as JSON body");
  OAK_ASSIGN_OR_RETURN(auto v, json::parse(req.body));
  if (v.is_string()) {
    OAK_ASSIGN_OR_RETURN(auto inner, json::parse(v.get_string()));
    return inner;
  }
  return v;
}

}  // namespace

void addApplicationRoutes(http::Router& r, RootContext& ctx) {
  auto& apps = *ctx.applications;
  addAuthed(r, ctx, Method::kPost, "/api/application",
            {"Create the applications and services of an SLA; returns all your applications",
             "applications", true, "", "SLA", "ApplicationList"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_ASSIGN_OR_RETURN(auto sla, slaBody(req));
              return apps.createApplications(c, sla);
            });
  addAuthed(r, ctx, Method::kGet, "/api/application/{application_id}",
            {"Get an application", "applications", true, "", "", "Application"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              return apps.getApplication(c, req.param("application_id"));
            });
  addAuthed(r, ctx, Method::kPut, "/api/application/{application_id}",
            {"Rename an application or change its description", "applications", true, "",
             "ApplicationUpdate", "Application"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_ASSIGN_OR_RETURN(auto body, objectBody(req));
              return apps.updateApplication(c, req.param("application_id"), body);
            });
  addAuthed(r, ctx, Method::kDelete, "/api/application/{application_id}",
            {"Delete an application and all its services", "applications", true, "", "", "Message"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_TRY(apps.deleteApplication(c, req.param("application_id")));
              return bj::object{{"message", "Application Deleted"}};
            });
  addAuthed(r, ctx, Method::kGet, "/api/applications/{userid}",
            {"List a user's applications (your own id, or any as Admin)", "applications", true, "",
             "", "ApplicationList"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              return apps.listApplicationsOfUser(c, req.param("userid"));
            });
  addAuthed(r, ctx, Method::kGet, "/api/applications",
            {"List all applications", "applications", true, "Admin", "", "ApplicationList"},
            [&apps](const http::Request&, const Caller&) -> Result<bj::value> {
              return apps.listAllApplications();
            });
}

void addServiceRoutes(http::Router& r, RootContext& ctx) {
  auto& apps = *ctx.applications;
  addAuthed(r, ctx, Method::kPost, "/api/service",
            {"Add the SLA's microservices to the application applications[0].applicationID",
             "services", true, "", "SLA", "JobId"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_ASSIGN_OR_RETURN(auto sla, slaBody(req));
              OAK_ASSIGN_OR_RETURN(auto id, apps.createServices(c, sla));
              return bj::object{{"job_id", id}};
            });
  addAuthed(r, ctx, Method::kGet, "/api/service/{service_id}",
            {"Get a service", "services", true, "", "", "Service"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              return apps.getService(c, req.param("service_id"));
            });
  addAuthed(r, ctx, Method::kPut, "/api/service/{service_id}",
            {"Replace a service's definition with applications[0].microservices[0] of the SLA",
             "services", true, "", "SLA", "Service"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_ASSIGN_OR_RETURN(auto sla, slaBody(req));
              return apps.updateService(c, req.param("service_id"), sla);
            });
  addAuthed(r, ctx, Method::kDelete, "/api/service/{service_id}",
            {"Delete a service and its instances", "services", true, "", "", "Message"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_TRY(apps.deleteService(c, req.param("service_id")));
              return bj::object{{"message", "Job deleted"}};
            });
  addAuthed(r, ctx, Method::kGet, "/api/services/{application_id}",
            {"List the services of an application", "services", true, "", "", "ServiceList"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              return apps.listServices(c, req.param("application_id"));
            });
  addAuthed(r, ctx, Method::kGet, "/api/services",
            {"List all services", "services", true, "Admin", "", "ServiceList"},
            [&apps](const http::Request&, const Caller&) -> Result<bj::value> {
              return apps.listAllServices();
            });
  addAuthed(r, ctx, Method::kPost, "/api/service/{service_id}/instance",
            {"Request one more instance of the service", "services", true, "", "", "Message"},
            [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
              OAK_TRY(apps.requestInstance(c, req.param("service_id")));
              return bj::object{{"message", "ok"}};
            });
  addAuthed(
      r, ctx, Method::kDelete, "/api/service/{service_id}/instance/{instance_number}",
      {"Remove an instance (-1: all instances)", "services", true, "", "", "Message"},
      [&apps](const http::Request& req, const Caller& c) -> Result<bj::value> {
        OAK_TRY(apps.removeInstances(c, req.param("service_id"), req.param("instance_number")));
        return bj::object{{"message", "ok"}};
      });
}

}  // namespace oak::root::api
