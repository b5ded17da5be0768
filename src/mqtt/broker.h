#pragma once
// The cluster's own mosquitto: a child process with a generated config, per-worker accounts and
// an ACL that confines each worker to its own topics. No anonymous access.
//
// Calls block briefly (a user change runs mosquitto_passwd; start waits until the broker accepts
// the admin account), so use it at start-up or from EventLoop::runBlocking, and from long-lived
// threads only: mosquitto is told to exit when the thread that started it ends. Accounts live in
// memory and in data_dir; start() writes files with the admin account only: the cluster re-adds
// its workers from its store.

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "mqtt/broker_config.h"

namespace oak::mqtt {

class MosquittoBroker {
 public:
  using Options = BrokerOptions;

  // Writes the files, starts mosquitto and waits (bounded by start_timeout) until it accepts an
  // MQTT connection with the admin account.
  static Result<std::unique_ptr<MosquittoBroker>> start(Options options);
  ~MosquittoBroker();  // stops the broker
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Creates or replaces `username` with readwrite on "<topic_prefix>/#" only (worker w1:
  // "nodes/w1"). Applied with SIGHUP: the broker re-reads the files asynchronously, so a client
  // racing the reload may be refused once and succeed on its next retry.
  Status addUser(const std::string& username, const std::string& password,
                 const std::string& topic_prefix);
  // Removes the account; the reload also disconnects its live sessions.
  Status removeUser(const std::string& username);
  bool hasUser(const std::string& username) const;

  // SIGTERM, bounded wait, SIGKILL if needed; idempotent.
  Status stop();
  // Starts again (after stop() or a crash) with the current accounts.
  Status restart();
  // False once the process exited, whether by stop() or by itself.
  bool running();

  pid_t pid() const { return pid_; }
  const Options& options() const { return options_; }
  std::string logFile() const;

 private:
  explicit MosquittoBroker(Options options);
  Status launch();
  Status waitReady();
  Status writeFiles();
  Status reload();
  Result<std::string> hashPassword(const std::string& username, const std::string& password);
  std::string logTail() const;

  Options options_;
  std::map<std::string, BrokerUser> users_;  // includes the admin (empty prefix)
  pid_t pid_ = -1;
  bool stopped_ = true;  // stopped on purpose: changes need no reload
  int last_status_ = 0;
};

}  // namespace oak::mqtt
