#include "mqtt/broker.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "common/files.h"
#include "mqtt/child_process.h"
#include "mqtt/readiness.h"

namespace oak::mqtt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kPasswdTimeout = std::chrono::seconds(10);
constexpr auto kProbeTimeout = std::chrono::milliseconds(1000);
constexpr auto kProbeInterval = std::chrono::milliseconds(20);
constexpr size_t kTailBytes = 2000;

std::string currentAccount() {
  if (::geteuid() == 0) return "root";
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_name) return pw->pw_name;
  return "root";  // only consulted when running as root
}

std::string tailOf(const std::string& path) {
  auto text = files::read(path);
  if (!text) return "";
  const std::string& s = *text;
  return s.size() > kTailBytes ? s.substr(s.size() - kTailBytes) : s;
}

std::string outputPath(const BrokerOptions& o) {
  return o.data_dir + "/mosquitto.out";
}

}  // namespace

MosquittoBroker::MosquittoBroker(Options options) : options_(std::move(options)) {}

MosquittoBroker::~MosquittoBroker() {
  stop();
}

Result<std::unique_ptr<MosquittoBroker>> MosquittoBroker::start(Options options) {
  OAK_TRY(validateBrokerOptions(options));
  OAK_TRY(files::ensureDirectory(options.data_dir, 0700));
  std::unique_ptr<MosquittoBroker> broker(new MosquittoBroker(std::move(options)));
  const Options& o = broker->options_;
  OAK_ASSIGN_OR_RETURN(std::string line, broker->hashPassword(o.admin_username, o.admin_password));
  broker->users_[o.admin_username] = BrokerUser{std::move(line), ""};
  OAK_TRY(broker->launch());
  return broker;
}

std::string MosquittoBroker::logFile() const {
  return logPath(options_);
}

Status MosquittoBroker::addUser(const std::string& username, const std::string& password,
                                const std::string& topic_prefix) {
  OAK_TRY(validateUsername(username));
  OAK_TRY(validatePassword(password));
  OAK_TRY(validateTopicPrefix(topic_prefix));
  if (username == options_.admin_username) {
    return makeError(ErrorCode::kConflict, "username: '" + username + "' is the cluster's account");
  }
  OAK_ASSIGN_OR_RETURN(std::string line, hashPassword(username, password));
  users_[username] = BrokerUser{std::move(line), topic_prefix};
  OAK_TRY(writeFiles());
  return reload();
}

Status MosquittoBroker::removeUser(const std::string& username) {
  if (username == options_.admin_username) {
    return makeError(ErrorCode::kInvalidArgument,
                     "username: the cluster's account cannot be removed");
  }
  if (users_.erase(username) == 0) {
    return makeError(ErrorCode::kNotFound, "username: no MQTT user '" + username + "'");
  }
  OAK_TRY(writeFiles());
  return reload();
}

bool MosquittoBroker::hasUser(const std::string& username) const {
  return users_.count(username) > 0;
}

Status MosquittoBroker::stop() {
  stopped_ = true;
  if (pid_ > 0) {
    last_status_ = detail::terminate(pid_, kStopGrace);
    spdlog::info("mqtt broker: mosquitto (pid {}) stopped ({})", pid_,
                 detail::describeExit(last_status_));
    pid_ = -1;
  }
  return {};
}

Status MosquittoBroker::restart() {
  OAK_TRY(stop());
  return launch();
}

bool MosquittoBroker::running() {
  if (pid_ <= 0) return false;
  auto status = detail::reapIfExited(pid_);
  if (!status) return true;
  last_status_ = *status;
  if (!stopped_) {
    spdlog::error("mqtt broker: mosquitto (pid {}) exited unexpectedly ({}): {}", pid_,
                  detail::describeExit(last_status_), logTail());
  }
  pid_ = -1;
  return false;
}

Status MosquittoBroker::launch() {
  OAK_TRY(writeFiles());
  OAK_ASSIGN_OR_RETURN(pid_, detail::spawnDaemon({options_.binary, "-c", configPath(options_)},
                                                 outputPath(options_)));
  stopped_ = false;
  if (auto ready = waitReady(); !ready) {
    stop();
    return ready;
  }
  spdlog::info("mqtt broker: mosquitto (pid {}) listening on {}:{}", pid_,
               options_.listen_host.empty() ? "*" : options_.listen_host, options_.port);
  return {};
}

Status MosquittoBroker::waitReady() {
  const std::string host = detail::probeHost(options_.listen_host);
  auto deadline = Clock::now() + options_.start_timeout;
  Status last = makeError(ErrorCode::kUnavailable, "not probed");
  while (true) {
    if (!running()) {
      return makeError(ErrorCode::kUnavailable,
                       fmt::format("mosquitto exited during start-up ({}): {}",
                                   detail::describeExit(last_status_), logTail()));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    last = detail::probeMqtt(host, options_.port, options_.admin_username, options_.admin_password,
                             std::clamp(left, kProbeInterval, kProbeTimeout));
    if (last) return {};
    if (last.error().code == ErrorCode::kUnauthenticated) return last;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(kProbeInterval);
  }
  return makeError(
      ErrorCode::kUnavailable,
      fmt::format("mosquitto did not accept MQTT on {}:{} within {} ms ({}): {}", host,
                  options_.port, options_.start_timeout.count(), last.error().message, logTail()));
}

Status MosquittoBroker::writeFiles() {
  OAK_TRY(files::ensureDirectory(options_.data_dir, 0700));
  OAK_TRY(files::writeAtomic(passwordPath(options_), renderPasswordFile(users_), 0600));
  OAK_TRY(files::writeAtomic(aclPath(options_), renderAcl(users_), 0600));
  return files::writeAtomic(configPath(options_), renderBrokerConfig(options_, currentAccount()),
                            0600);
}

Status MosquittoBroker::reload() {
  if (stopped_) return {};  // the files are read at the next start
  if (!running()) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("mosquitto is not running ({}); the change applies at restart",
                                 detail::describeExit(last_status_)));
  }
  if (::kill(pid_, SIGHUP) != 0) {
    return makeError(ErrorCode::kInternal, "cannot signal mosquitto to reload its files");
  }
  return {};
}

// mosquitto_passwd owns the hash format; the password goes through its stdin (twice, as it asks
// for a confirmation) so that it never shows up in a process list.
Result<std::string> MosquittoBroker::hashPassword(const std::string& username,
                                                  const std::string& password) {
  const std::string scratch = options_.data_dir + "/passwd.scratch";
  std::remove(scratch.c_str());
  auto run = detail::runCommand({options_.passwd_binary, "-c", scratch, username},
                                password + "\n" + password + "\n", kPasswdTimeout);
  auto content = files::read(scratch);
  std::remove(scratch.c_str());
  if (!run) return run.error();
  if (run->exit_code != 0 || !content) {
    return makeError(ErrorCode::kInternal, fmt::format("mosquitto_passwd failed (exit code {}): {}",
                                                       run->exit_code, run->output));
  }
  std::string line = content->substr(0, content->find('\n'));
  if (line.rfind(username + ":", 0) != 0) {
    return makeError(ErrorCode::kInternal, "mosquitto_passwd wrote an unexpected entry");
  }
  return line;
}

std::string MosquittoBroker::logTail() const {
  std::string out = tailOf(outputPath(options_));
  std::string log = tailOf(logPath(options_));
  if (!out.empty() && !log.empty()) out += "\n";
  return out + log;
}

}  // namespace oak::mqtt
