// `oak`: the user's command-line client of the root orchestrator's REST API.
// Credentials from `oak login` are kept in $OAK_CONFIG (default ~/.config/oak/credentials.json,
// mode 0600).

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/files.h"
#include "common/json.h"
#include "http/client.h"

namespace {

namespace bj = boost::json;
using oak::http::ClientRequest;
using oak::http::Method;

struct Session {
  std::string url = "http://localhost:10000";
  std::string token;
  std::string refresh_token;
  std::string username;
};

std::string configPath() {
  if (const char* p = std::getenv("OAK_CONFIG")) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.config/oak/credentials.json";
}

Session loadSession() {
  Session s;
  if (auto text = oak::files::read(configPath())) {
    if (auto v = oak::json::parse(*text); v && v->is_object()) {
      const auto& o = v->get_object();
      s.url = oak::json::getString(o, "url").value_or(s.url);
      s.token = oak::json::getString(o, "token").value_or("");
      s.refresh_token = oak::json::getString(o, "refresh_token").value_or("");
      s.username = oak::json::getString(o, "username").value_or("");
    }
  }
  return s;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "oak: %s\n", msg.c_str());
  return 1;
}

oak::Result<oak::http::Response> call(const Session& s, Method m, const std::string& path,
                                      std::string body = {}) {
  OAK_ASSIGN_OR_RETURN(auto url, oak::http::Url::parse(s.url));
  ClientRequest req{m, url.base_path + path, {}, std::move(body)};
  if (!s.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + s.token);
  return oak::http::fetch(url.host, url.port, req);
}

// Prints a successful JSON answer; turns an error answer into a message and exit code 1.
int show(const oak::Result<oak::http::Response>& r) {
  if (!r) return fail(r.error().message);
  auto parsed = oak::json::parse(r->body);
  if (r->status >= 400) {
    std::string msg = r->body;
    if (parsed && parsed->is_object()) {
      msg = oak::json::getString(parsed->get_object(), "message").value_or(msg);
    }
    return fail(std::to_string(r->status) + ": " + msg);
  }
  std::cout << (parsed ? bj::serialize(*parsed) : r->body) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"oak: command-line client of the Oakestra root orchestrator", "oak"};
  app.set_version_flag("--version", std::string("oak ") + OAK_VERSION);
  app.require_subcommand(1);
  Session s = loadSession();
  std::string url_flag;
  app.add_option("--url", url_flag,
                 "root orchestrator URL (default: from login, else http://localhost:10000)")
      ->envname("OAK_URL");

  std::string user = "Admin", password;
  auto* login = app.add_subcommand("login", "log in and remember the token");
  login->add_option("-u,--username", user)->capture_default_str();
  login->add_option("-p,--password", password, "password (or $OAK_PASSWORD)")
      ->envname("OAK_PASSWORD")
      ->required();

  std::string sla_file;
  auto* apply = app.add_subcommand("apply", "create the applications of an SLA file");
  apply->add_option("-f,--file", sla_file, "SLA JSON file")->required();

  auto* app_cmd = app.add_subcommand("app", "applications")->require_subcommand(1);
  auto* app_ls = app_cmd->add_subcommand("ls", "list your applications");

  std::string app_id;
  auto* svc_cmd = app.add_subcommand("service", "services")->require_subcommand(1);
  auto* svc_ls =
      svc_cmd->add_subcommand("ls", "list the services of an application (all as Admin)");
  svc_ls->add_option("application_id", app_id);
  std::string service_id;
  int replicas_delta = 1;
  auto* scale = svc_cmd->add_subcommand("scale", "add (+N) or remove (-1: all) instances");
  scale->add_option("service_id", service_id)->required();
  scale
      ->add_option("delta", replicas_delta,
                   "+N adds N instances; -N removes instance N-1... use 'down'")
      ->capture_default_str();

  auto* cluster_cmd = app.add_subcommand("cluster", "clusters")->require_subcommand(1);
  auto* cluster_ls = cluster_cmd->add_subcommand("ls", "list clusters");

  std::string method_text = "GET", path, data;
  auto* api = app.add_subcommand("api", "send a raw request, e.g. oak api GET /api/clusters");
  api->add_option("method", method_text)->required();
  api->add_option("path", path)->required();
  api->add_option("-d,--data", data, "request body, or @file");

  CLI11_PARSE(app, argc, argv);
  if (!url_flag.empty()) s.url = url_flag;

  if (login->parsed()) {
    bj::object body{{"username", user}, {"password", password}};
    s.token.clear();
    auto r = call(s, Method::kPost, "/api/auth/login", bj::serialize(body));
    if (!r) return fail(r.error().message);
    if (r->status != 200) return show(r);
    auto v = oak::json::parse(r->body);
    if (!v || !v->is_object()) return fail("unexpected answer from the server");
    bj::object saved{
        {"url", s.url},
        {"username", user},
        {"token", oak::json::getString(v->get_object(), "token").value_or("")},
        {"refresh_token", oak::json::getString(v->get_object(), "refresh_token").value_or("")}};
    std::string dir = configPath().substr(0, configPath().rfind('/'));
    if (auto st = oak::files::ensureDirectory(dir, 0700); !st) return fail(st.error().message);
    if (auto st = oak::files::writeAtomic(configPath(), bj::serialize(saved), 0600); !st) {
      return fail(st.error().message);
    }
    std::cout << "logged in to " << s.url << " as " << user << "\n";
    return 0;
  }
  if (apply->parsed()) {
    auto text = oak::files::read(sla_file);
    if (!text) return fail(text.error().message);
    return show(call(s, Method::kPost, "/api/application", *text));
  }
  if (app_ls->parsed()) {
    auto me = call(s, Method::kGet, "/api/user/" + s.username);
    if (!me || me->status != 200) return show(me);
    auto v = oak::json::parse(me->body);
    std::string id;
    if (v && v->is_object()) {
      if (const auto* oid = oak::json::findObject(v->get_object(), "_id")) {
        id = oak::json::getString(*oid, "$oid").value_or("");
      }
    }
    return show(call(s, Method::kGet, "/api/applications/" + id));
  }
  if (svc_ls->parsed()) {
    return show(
        call(s, Method::kGet, app_id.empty() ? "/api/services" : "/api/services/" + app_id));
  }
  if (scale->parsed()) {
    if (replicas_delta < 0) {
      return show(call(s, Method::kDelete, "/api/service/" + service_id + "/instance/-1"));
    }
    int rc = 0;
    for (int i = 0; i < replicas_delta && rc == 0; ++i) {
      rc = show(call(s, Method::kPost, "/api/service/" + service_id + "/instance"));
    }
    return rc;
  }
  if (cluster_ls->parsed()) return show(call(s, Method::kGet, "/api/clusters"));
  if (api->parsed()) {
    if (!data.empty() && data.front() == '@') {
      auto text = oak::files::read(data.substr(1));
      if (!text) return fail(text.error().message);
      data = *text;
    }
    return show(call(s, oak::http::methodFromName(method_text), path, data));
  }
  return 2;
}
