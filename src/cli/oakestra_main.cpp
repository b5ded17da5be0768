// `oakestra`: every daemon of the product in one binary (`oakestra root`, ...).

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cluster/cluster_server.h"
#include "cluster/options.h"
#include "common/log.h"
#include "doctor/checks.h"
#include "doctor/doctor_main.h"
#include "metrics/log_counter.h"
#include "root/options.h"
#include "root/root_server.h"
#include "up/up_main.h"
#include "worker/agent/options.h"
#include "worker/agent/worker_main.h"
#include "worker/logs/log_driver.h"

int main(int argc, char** argv) {
  // containerd's shim starts us as a container's log driver, with arguments in random order.
  if (oak::worker::isLogDriverInvocation(argc, argv)) return oak::worker::runLogDriver(argc, argv);
  CLI::App app{"oakestra: edge orchestrator daemons (root, cluster, worker)", "oakestra"};
  app.set_version_flag("--version", std::string("oakestra ") + OAK_VERSION);
  app.set_config("--config", "", "read flags from a TOML/INI file (keys are flag names)");
  app.require_subcommand(1);
  // Global flags (--log-level, ...) may also follow the subcommand.
  app.fallthrough();
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->envname("OAKESTRA_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text or json")
      ->envname("OAKESTRA_LOG_FORMAT")
      ->capture_default_str();

  oak::root::RootOptions root_options;
  auto* root = app.add_subcommand("root", "root orchestrator: REST API, accounts, scheduling");
  oak::root::addRootFlags(*root, root_options);

  oak::cluster::ClusterOptions cluster_options;
  auto* cluster =
      app.add_subcommand("cluster", "cluster orchestrator: workers, broker, scheduling");
  oak::cluster::addClusterFlags(*cluster, cluster_options);

  oak::worker::WorkerOptions worker_options;
  auto* worker = app.add_subcommand("worker", "worker: node engine (runtimes) and reports");
  oak::worker::addWorkerFlags(*worker, worker_options);

  oak::up::UpOptions up_options;
  auto* up = app.add_subcommand("up", "root, a cluster and a worker on this machine, in one go");
  oak::up::addUpFlags(*up, up_options);

  oak::doctor::DoctorOptions doctor_options;
  auto* doctor = app.add_subcommand(
      "doctor", "checks what a root, cluster or worker needs here and how to fix what is missing");
  oak::doctor::addDoctorFlags(*doctor, doctor_options);
  doctor->fallthrough(false);  // `oakestra doctor worker` names a role, not the subcommand

  CLI11_PARSE(app, argc, argv);
  if (doctor->parsed()) return oak::doctor::runDoctor(doctor_options);
  std::string component = app.get_subcommands().front()->get_name();
  if (auto s = oak::initLogging(log_level, log_format, component); !s) {
    std::fprintf(stderr, "oakestra: %s\n", s.error().message.c_str());
    return 2;
  }
  oak::metrics::countLogLines();  // oakestra_log_messages_total of every daemon
  if (root->parsed()) return oak::root::runRoot(root_options);
  if (cluster->parsed()) return oak::cluster::runCluster(cluster_options);
  if (worker->parsed()) return oak::worker::runWorker(worker_options);
  if (up->parsed()) return oak::up::runUp(up_options);
  return 2;
}
