// GET /api/alerts: what the root's own alerting (root/alerts.h) finds wrong now.

#include <boost/json.hpp>

#include "common/text.h"
#include "root/alerts.h"
#include "root/api/routes.h"

namespace oak::root::api {

namespace bj = boost::json;

void addAlertRoutes(http::Router& r, RootContext& ctx) {
  addAuthed(r, ctx, http::Method::kGet, "/api/alerts",
            {"Active alerts (firing first, then pending), evaluated by the root with the "
             "conditions of its Prometheus rules",
             "infrastructure", true, "", "", "AlertList"},
            [&ctx](const http::Request&, const Caller&) -> Result<bj::value> {
              bj::array out;
              if (ctx.alerts == nullptr) return out;
              for (const auto& a : ctx.alerts->active()) {
                bj::object labels;
                for (const auto& [k, v] : a.labels) labels[k] = v;
                out.push_back(bj::object{{"name", a.name},
                                         {"severity", a.severity},
                                         {"state", a.firing ? "firing" : "pending"},
                                         {"labels", std::move(labels)},
                                         {"summary", a.summary},
                                         {"active_since", formatTimestamp(a.active_since)}});
              }
              return out;
            });
}

}  // namespace oak::root::api
