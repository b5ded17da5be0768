#pragma once
// Applications and their services ("jobs"), created from SLA documents, and the user-facing side
// of scaling (instance requests). Every request's writes go to the store in one batch, so a
// failure at any step leaves nothing half-created.
//
// Visibility: a user sees the applications whose `userId` is their name; Admins see all.
// Entities the caller may not see answer 404, like entities that do not exist.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <set>
#include <string>

#include "common/result.h"
#include "root/caller.h"
#include "root/context.h"

namespace oak::root {

class Scheduler;
class AddressTransaction;

class Applications {
 public:
  Applications(RootContext& ctx, Scheduler& scheduler) : ctx_(ctx), scheduler_(scheduler) {}

  // POST /api/application: returns all applications of the caller.
  Result<boost::json::array> createApplications(const Caller& c, const boost::json::value& sla);
  Result<boost::json::object> getApplication(const Caller& c, std::string_view id);
  Result<boost::json::array> listApplicationsOfUser(const Caller& c, std::string_view user_id);
  Result<boost::json::array> listAllApplications();
  Result<boost::json::object> updateApplication(const Caller& c, std::string_view id,
                                                const boost::json::object& body);
  Status deleteApplication(const Caller& c, std::string_view id);

  // POST /api/service: adds the SLA's microservices to an existing application; returns the id
  // of the last service created.
  Result<std::string> createServices(const Caller& c, const boost::json::value& sla);
  Result<boost::json::object> getService(const Caller& c, std::string_view id);
  Result<boost::json::array> listServices(const Caller& c, std::string_view app_id);
  Result<boost::json::array> listAllServices();
  Result<boost::json::object> updateService(const Caller& c, std::string_view id,
                                            const boost::json::value& sla);
  Status deleteService(const Caller& c, std::string_view id);

  // Asks for one more instance of the service; placement happens right after the answer.
  Status requestInstance(const Caller& c, std::string_view id);
  // Removes instance `instance_number` ("-1" = every instance).
  Status removeInstances(const Caller& c, std::string_view id, std::string_view instance_number);

 private:
  Result<boost::json::object> ownedApplication(const Caller& c, std::string_view id);
  Result<boost::json::object> ownedService(const Caller& c, std::string_view id);
  // Builds and stages the service documents of `microservices` for `app` (which is updated).
  Result<std::string> stageServices(const boost::json::array& microservices,
                                    boost::json::object& app, std::string_view path,
                                    std::set<std::string>& job_names, AddressTransaction& addresses,
                                    store::WriteBatch& batch);
  // Tells the instance's cluster to stop it (after the store no longer lists it).
  void withdraw(std::string_view service_id, const boost::json::value& instance);
  void withdrawAll(const boost::json::object& service);
  Status stageServiceRemoval(const boost::json::object& service, AddressTransaction& addresses,
                             store::WriteBatch& batch);

  RootContext& ctx_;
  Scheduler& scheduler_;
};

}  // namespace oak::root
