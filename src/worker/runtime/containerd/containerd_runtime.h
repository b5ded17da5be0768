#pragma once
// Runs `docker` instances as containerd containers (namespace "oakestra", container and task id
// = the instance's task id, runc through the v2 shim, overlayfs snapshots). Each call does its
// containerd calls on the event loop's blocking pool and completes on the loop; task exits arrive
// from containerd's event stream. The instance's spec is stored with its container, so a restarted
// worker re-attaches to what still runs (`recover`) instead of starting it twice.
//
// An instance that ends (on its own or destroyed) is cleaned up completely before its waiters
// hear of it: task, container and its writable snapshot are deleted; the image stays.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/task_runner.h"
#include "worker/runtime/containerd/cgroup_usage.h"
#include "worker/runtime/containerd/client.h"
#include "worker/runtime/containerd/image_puller.h"
#include "worker/runtime/containerd/oci_spec.h"
#include "worker/runtime/exit_waiters.h"
#include "worker/runtime/runtime.h"

namespace oak::worker::containerd {

struct ContainerdRuntimeOptions {
  std::string snapshotter = "overlayfs";
  std::string shim = "io.containerd.runc.v2";
  // The stdout and stderr URI of an instance (a `binary://` log driver, `file://...`); empty
  // discards the output.
  std::function<std::string(const InstanceSpec&)> log_uri;
  SpecOptions spec;
  // How long a destroyed instance gets between SIGTERM and SIGKILL.
  std::chrono::seconds stop_grace{10};
  std::string cgroup_root = "/sys/fs/cgroup";
};

class ContainerdRuntime final : public Runtime {
 public:
  ContainerdRuntime(TaskRunner& loop, std::unique_ptr<ContainerdClient> client,
                    std::unique_ptr<ImagePuller> puller, ContainerdRuntimeOptions options);
  ~ContainerdRuntime() override;

  // Asks containerd for its version (blocking, up to `deadline`): the runtime is available only
  // when it answers. Call once before use.
  Status probe(std::chrono::milliseconds deadline = std::chrono::seconds(3));

  std::string name() const override { return "docker"; }
  bool available() const override { return available_; }
  void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) override;
  void launch(const InstanceSpec& spec, std::function<void(Result<LaunchResult>)> done) override;
  void wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) override;
  void destroy(const std::string& task_id, std::function<void(Status)> done) override;
  void usage(const std::string& task_id, std::function<void(Result<Usage>)> done) override;
  std::vector<std::string> list() const override;
  void onProgress(ProgressListener listener) override { progress_ = std::move(listener); }

 private:
  enum class State { kStarting, kRunning, kStopping, kCleaning };
  struct Task {
    InstanceSpec spec;
    State state = State::kStarting;
    std::optional<uint32_t> exit_status;  // seen on the event stream
    std::optional<CgroupSample> last_sample;
  };

  // Blocking parts, on pool threads.
  Status start(const InstanceSpec& spec);
  Status create(const InstanceSpec& spec, const PulledImage& image);
  // Deletes task, container and snapshot, whatever of them exists; the task's exit status if
  // the task was there.
  std::optional<uint32_t> cleanup(const std::string& task_id);
  std::optional<uint32_t> stop(const std::string& task_id);
  Result<std::vector<std::pair<InstanceSpec, std::optional<uint32_t>>>> scan();

  // On the loop.
  void onExit(const std::string& task_id, uint32_t exit_status);
  void onStreamState(bool connected);
  void finish(const std::string& task_id, ExitInfo info);
  void startCleaning(const std::string& task_id, uint32_t exit_status);

  TaskRunner& loop_;
  std::unique_ptr<ContainerdClient> client_;
  std::unique_ptr<ImagePuller> puller_;
  ContainerdRuntimeOptions options_;
  bool available_ = false;
  ProgressListener progress_;
  std::map<std::string, Task> tasks_;
  ExitWaiters waiters_;
  std::unique_ptr<ContainerdClient::Subscription> exit_stream_;
  unsigned cpus_ = 1;
};

}  // namespace oak::worker::containerd
