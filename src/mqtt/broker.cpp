#include "mqtt/broker.h"

#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "common/child_process.h"
#include "common/files.h"
#include "mqtt/readiness.h"

namespace oak::mqtt {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStopGrace = std::chrono::seconds(5);
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

MosquittoBroker::MosquittoBroker(Options options, std::string plugin)
    : options_(std::move(options)), plugin_(std::move(plugin)) {}

MosquittoBroker::~MosquittoBroker() {
  stop();
}

Result<std::unique_ptr<MosquittoBroker>> MosquittoBroker::start(
    Options options, const std::vector<dynsec::Account>& accounts) {
  OAK_TRY(validateBrokerOptions(options));
  OAK_ASSIGN_OR_RETURN(std::string plugin, findDynsecPlugin(options));
  OAK_TRY(files::ensureDirectory(options.data_dir, 0700));
  std::unique_ptr<MosquittoBroker> broker(new MosquittoBroker(std::move(options), plugin));
  OAK_TRY(broker->syncAccounts(accounts));
  OAK_TRY(broker->launch());
  return broker;
}

std::string MosquittoBroker::logFile() const {
  return logPath(options_);
}

Status MosquittoBroker::syncAccounts(const std::vector<dynsec::Account>& accounts) {
  for (const auto& a : accounts) {
    OAK_TRY(validateUsername(a.username));
    OAK_TRY(validatePassword(a.password));
    if (a.username == options_.admin_username) {
      return makeError(ErrorCode::kConflict,
                       "username: '" + a.username + "' is the cluster's account");
    }
  }
  const std::string path = dynsecPath(options_);
  std::optional<std::string> existing;
  if (files::exists(path)) {
    OAK_ASSIGN_OR_RETURN(existing, files::read(path));
  }
  dynsec::Account admin{options_.admin_username, options_.admin_password, ""};
  auto content = dynsec::syncConfig(existing, admin, accounts, &sync_);
  if (!content && existing) {
    // The file is the cluster's: an unreadable one is rebuilt from the accounts.
    spdlog::warn("mqtt broker: {}; writing it anew", content.error().message);
    content = dynsec::syncConfig(std::nullopt, admin, accounts, &sync_);
  }
  if (!content) return content.error();
  spdlog::info("mqtt broker: {} accounts ({} kept, {} created, {} changed, {} deleted)",
               accounts.size() + 1, sync_.kept, sync_.created, sync_.updated, sync_.removed);
  return files::writeAtomic(path, *content, 0600);
}

Status MosquittoBroker::stop() {
  stopped_ = true;
  if (pid_ > 0) {
    last_status_ = process::terminate(pid_, kStopGrace);
    spdlog::info("mqtt broker: mosquitto (pid {}) stopped ({})", pid_,
                 process::describeExit(last_status_));
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
  auto status = process::reapIfExited(pid_);
  if (!status) return true;
  last_status_ = *status;
  if (!stopped_) {
    spdlog::error("mqtt broker: mosquitto (pid {}) exited unexpectedly ({}): {}", pid_,
                  process::describeExit(last_status_), logTail());
  }
  pid_ = -1;
  return false;
}

Status MosquittoBroker::launch() {
  OAK_TRY(writeFiles());
  OAK_ASSIGN_OR_RETURN(pid_, process::spawnDaemon({options_.binary, "-c", configPath(options_)},
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
                                   process::describeExit(last_status_), logTail()));
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
  OAK_TRY(files::writeAtomic(aclPath(options_), renderAcl(options_), 0600));
  return files::writeAtomic(configPath(options_),
                            renderBrokerConfig(options_, plugin_, currentAccount()), 0600);
}

std::string MosquittoBroker::logTail() const {
  std::string out = tailOf(outputPath(options_));
  std::string log = tailOf(logPath(options_));
  if (!out.empty() && !log.empty()) out += "\n";
  return out + log;
}

}  // namespace oak::mqtt
