#pragma once
// The cluster's own mosquitto: a child process with a generated config, per-worker accounts in
// the dynamic security plugin, and ACL patterns that confine each worker to its own topics. No
// anonymous access.
//
// Accounts change while the broker runs through the plugin's control topic (DynsecClient), never
// by rewriting files and reloading. Before each start the plugin's file is brought in line with
// the accounts the caller names (the broker is not running then, so this is a file edit, not
// thousands of commands); the plugin keeps the file up to date afterwards, so a restart finds
// every account in it.
//
// Calls block (start and restart wait until the broker accepts the admin account), so use it at
// start-up, and from long-lived threads only: mosquitto is told to exit when the thread that
// started it ends.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "mqtt/broker_config.h"
#include "mqtt/dynsec_config.h"

namespace oak::mqtt {

class MosquittoBroker {
 public:
  using Options = BrokerOptions;

  // Writes the config and ACL, makes the plugin's file hold exactly the admin and `accounts`
  // (created if missing, password or client id changed if different, others deleted), starts
  // mosquitto and waits (bounded by start_timeout) until it accepts the admin account.
  static Result<std::unique_ptr<MosquittoBroker>> start(
      Options options, const std::vector<dynsec::Account>& accounts = {});
  ~MosquittoBroker();  // stops the broker
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // What start() changed in the plugin's file.
  const dynsec::SyncReport& accountSync() const { return sync_; }

  // SIGTERM, bounded wait, SIGKILL if needed; idempotent.
  Status stop();
  // Starts again (after stop() or a crash) with the accounts the plugin's file holds.
  Status restart();
  // False once the process exited, whether by stop() or by itself.
  bool running();

  pid_t pid() const { return pid_; }
  const Options& options() const { return options_; }
  std::string logFile() const;

 private:
  MosquittoBroker(Options options, std::string plugin);
  Status syncAccounts(const std::vector<dynsec::Account>& accounts);
  Status launch();
  Status waitReady();
  Status writeFiles();
  std::string logTail() const;

  Options options_;
  std::string plugin_;
  dynsec::SyncReport sync_;
  pid_t pid_ = -1;
  bool stopped_ = true;  // stopped on purpose, not crashed
  int last_status_ = 0;
};

}  // namespace oak::mqtt
