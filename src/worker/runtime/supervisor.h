#pragma once
// Turns the cluster's deploy and delete messages into runtime calls, and runtime events into the
// status reports the cluster expects on the `job` topic:
//
//   deploy -> ACTIVE, or FAILED (detail: the runtime's error, "instance already deployed", or
//             "virtualization 'x' is not supported by this worker")
//   exit   -> COMPLETED (one-shot, exit code 0; never restarted), otherwise DEAD
//             (detail "exited with code N"); the cluster decides about re-deploying
//   delete -> UNDEPLOYED once the instance is gone; an explicit delete reports no DEAD, and the
//             delete of an unknown instance is answered UNDEPLOYED too (deletes are idempotent)
//
// A deploy that arrives while the same task id is being deleted waits for the delete to finish,
// as the cluster's re-deploy sends delete then deploy. Runs on the event loop thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "worker/runtime/instance_network.h"
#include "worker/runtime/runtime.h"

namespace oak::worker {

namespace status {
inline constexpr std::string_view kActive = "ACTIVE";
inline constexpr std::string_view kFailed = "FAILED";
inline constexpr std::string_view kDead = "DEAD";
inline constexpr std::string_view kCompleted = "COMPLETED";
inline constexpr std::string_view kUndeployed = "UNDEPLOYED";
}  // namespace status

struct StatusReport {
  std::string job_name;
  int instance = 0;
  std::string status;  // one of `status::k...`
  std::string status_detail;

  bool operator==(const StatusReport&) const = default;
};

class InstanceSupervisor {
 public:
  using Reporter = std::function<void(const StatusReport&)>;

  // `runtime` (and `network`, when given) must outlive the supervisor. `report` may call back
  // into the supervisor. Without a network, instances share the host's.
  InstanceSupervisor(Runtime& runtime, Reporter report, InstanceNetwork* network = nullptr);
  InstanceSupervisor(const InstanceSupervisor&) = delete;
  InstanceSupervisor& operator=(const InstanceSupervisor&) = delete;

  // Adopts the instances the runtime still runs after a worker restart, and watches them. Call
  // before the first deploy. Reports nothing for them: the cluster already has them as running.
  void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done);

  // Handles `control/deploy`.
  void deploy(InstanceSpec spec);
  // Handles `control/delete`.
  void remove(const std::string& job_name, int instance);

  // Instances that run and are not being deleted: what resource reports cover.
  std::vector<InstanceSpec> running() const;
  // Running and still launching: what the worker holds for the cluster.
  std::vector<InstanceSpec> held() const;
  // Task ids in any state (launching, running, being deleted).
  size_t tracked() const { return entries_.size(); }

 private:
  enum class State { kLaunching, kRunning, kDestroying };
  struct Entry {
    InstanceSpec spec;
    State state = State::kLaunching;
    uint64_t generation = 0;  // tells callbacks of an earlier instance of the task id apart
    bool remove_requested = false;
    // How it ended, when that happened before ACTIVE was reported or while being deleted.
    std::optional<ExitInfo> exit{};
    // A deploy waiting for the delete to finish.
    std::optional<InstanceSpec> next{};
  };

  Entry* find(const std::string& task_id, uint64_t generation);
  void launch(InstanceSpec spec);
  void onAttached(const std::string& task_id, uint64_t generation,
                  Result<NetworkAttachment> attached);
  void onLaunched(const std::string& task_id, uint64_t generation, Result<LaunchResult> result);
  void watch(const std::string& task_id, uint64_t generation);
  void onExit(const std::string& task_id, uint64_t generation, const ExitInfo& info);
  // Reports a natural end (COMPLETED or DEAD) and drops the entry.
  void ended(const std::string& task_id, ExitInfo info);
  void startDestroy(const std::string& task_id);
  void onDestroyed(const std::string& task_id, uint64_t generation, const Status& status);
  // Drops the entry, reports, then starts a deploy that waited for it.
  void finish(const std::string& task_id, std::string_view status, std::string detail);
  void report(const InstanceSpec& spec, std::string_view status, std::string detail);

  Runtime& runtime_;
  Reporter report_;
  InstanceNetwork* network_;
  std::map<std::string, Entry> entries_;
  uint64_t generations_ = 0;
};

}  // namespace oak::worker
