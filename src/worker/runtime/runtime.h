#pragma once
// The seam between the worker and whatever runs service instances: containerd, QEMU, or a fake
// in tests. Implementations are asynchronous so that they can sit on gRPC or QMP without blocking
// the worker's event loop.
//
// Threading and lifetime: every method is called on the worker's event loop thread and every
// callback runs there too. A callback may run before the call that takes it returns (a runtime
// that knows the answer at once need not post it), so callers must not keep references into
// their own containers across a call. Callers must outlive their pending calls; in a daemon that
// holds because everything is destroyed after the loop stopped.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "worker/runtime/instance_spec.h"

namespace oak::worker {

enum class LaunchResult {
  kSuccess,          // the instance runs
  kAlreadyLaunched,  // an instance with this task id runs already; it was left untouched
  kNotSupported,     // this runtime does not run the spec's virtualization
};

// How an instance ended.
struct ExitInfo {
  int exit_code = -1;  // -1 when there is none (destroyed, killed, lost with the backing system)
  std::string reason;  // empty for an exit of its own; otherwise why it ended ("destroyed")
};

struct Usage {
  double cpu_percent = 0;  // of the whole host
  double memory_mb = 0;
  double disk_mb = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // The virtualization it runs, as deploy messages name it ("docker", "unikernel").
  virtual std::string name() const = 0;
  // True only when the backing system was found working (probed at creation).
  virtual bool available() const = 0;

  // Re-attaches to the instances that survived a restart of the worker and completes with their
  // specs; they are then listed and can be waited for. Called once, before any launch.
  virtual void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) = 0;

  // Starts `spec` under `spec.taskId()`; completes once it runs (kSuccess) or fails (an error
  // whose message is what the cluster is told). kNotSupported for another virtualization.
  virtual void launch(const InstanceSpec& spec, std::function<void(Result<LaunchResult>)> done) = 0;

  // Completes once when the instance ends, for whatever reason, including `destroy`. An instance
  // that ended before anybody waited keeps its ExitInfo for the first wait. An unknown task id
  // completes at once with exit code -1 and reason "unknown instance".
  virtual void wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) = 0;

  // Stops the instance and frees what it held; completes when it is gone (its waiters have run
  // by then). kNotFound when the task id is not running.
  virtual void destroy(const std::string& task_id, std::function<void(Status)> done) = 0;

  // Current consumption; kNotFound when the task id is not running.
  virtual void usage(const std::string& task_id, std::function<void(Result<Usage>)> done) = 0;

  // Task ids of the running instances.
  virtual std::vector<std::string> list() const = 0;

  // What the worker reports about this runtime beside its name (the unikernel runtime: arch,
  // acceleration); empty when there is nothing to say.
  virtual std::map<std::string, std::string> capabilities() const { return {}; }

  // Receives progress of launches that take a while (an image pull): the task id and a line
  // for the instance's status_detail. Runtimes without such steps ignore it.
  using ProgressListener = std::function<void(const std::string& task_id, const std::string&)>;
  virtual void onProgress(ProgressListener listener) { (void)listener; }
};

}  // namespace oak::worker
