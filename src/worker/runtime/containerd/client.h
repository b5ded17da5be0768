#pragma once
// A connection to containerd's gRPC API on its unix socket, scoped to one containerd namespace
// (every request carries it). RPC and protobuf types stay in the client_*.cpp files so that
// users of this header do not compile them.
//
// Calls block the calling thread for at most their deadline: call them at start-up or from a
// blocking pool (EventLoop::runBlocking), not from the event loop thread. A client may be used
// from several threads at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::worker::containerd {

inline constexpr char kDefaultSocket[] = "/run/containerd/containerd.sock";
inline constexpr char kDefaultNamespace[] = "oakestra";
inline constexpr std::chrono::milliseconds kDefaultDeadline = std::chrono::seconds(5);

using Labels = std::map<std::string, std::string>;

struct Mount {
  std::string type;
  std::string source;
  std::string target;
  std::vector<std::string> options;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

struct ContentInfo {
  std::string digest;
  int64_t size = 0;
  Labels labels;
};

struct ImageRecord {
  std::string name;
  Descriptor target;
  Labels labels;
};

struct ContainerRecord {
  std::string id;
  std::string image;
  Labels labels;
  std::string runtime;      // "io.containerd.runc.v2"
  std::string spec_json;    // the OCI runtime spec
  std::string snapshotter;  // "overlayfs"
  std::string snapshot_key;
  // Opaque payloads kept with the container (what we need to re-attach after a restart).
  std::map<std::string, std::string> extensions;
};

enum class TaskStatus { kUnknown, kCreated, kRunning, kStopped, kPaused, kPausing };

struct TaskInfo {
  std::string id;
  uint32_t pid = 0;
  TaskStatus status = TaskStatus::kUnknown;
  uint32_t exit_status = 0;
};

struct TaskExit {
  std::string container_id;
  std::string process_id;  // equals container_id for the task's init process
  uint32_t exit_status = 0;
};

// Streams a blob into a sink; returns the first error of the source or the sink.
using BlobSource = std::function<Status(const std::function<Status(std::string_view)>& sink)>;

class ContainerdClient {
 public:
  // kUnavailable when nothing is at `socket_path` or it is not a socket. Does not talk to the
  // daemon yet: the first call does (and waits for it up to its deadline).
  static Result<std::unique_ptr<ContainerdClient>> connect(std::string socket_path = kDefaultSocket,
                                                           std::string ns = kDefaultNamespace);
  ~ContainerdClient();
  ContainerdClient(const ContainerdClient&) = delete;
  ContainerdClient& operator=(const ContainerdClient&) = delete;

  // A client on the same connection whose calls run under `lease` (containerd's garbage
  // collector keeps what a lease references until the lease is deleted).
  std::unique_ptr<ContainerdClient> withLease(std::string lease) const;

  // The daemon's version ("1.6.20~ds1"); kUnavailable when it does not answer within `deadline`.
  Result<std::string> version(std::chrono::milliseconds deadline = kDefaultDeadline);

  // Leases: temporary protection from garbage collection while a pull or a launch is under way.
  Status createLease(const std::string& id, std::chrono::seconds expire_after);
  Status deleteLease(const std::string& id);

  // Content store. `writeContent` ingests under `ref` and commits with `expected` (containerd
  // verifies size and digest); content already present is kConflict. `attempt` counts the
  // restarts after finding a stale partial ingest under `ref` (callers leave it at 0).
  Result<ContentInfo> contentInfo(const std::string& digest);
  Result<std::string> readContent(const std::string& digest, int64_t max_size);
  Status writeContent(const std::string& ref, const Descriptor& expected, const Labels& labels,
                      const BlobSource& source, int attempt = 0);
  Status setContentLabels(const std::string& digest, const Labels& labels);

  // Images.
  Result<ImageRecord> getImage(const std::string& name);
  // Creates, or updates the target and labels of an existing record.
  Status putImage(const ImageRecord& image);

  // Snapshots (with the snapshotter named per call) and the Diff service that unpacks layers.
  Status statSnapshot(const std::string& snapshotter, const std::string& key);
  Result<std::vector<Mount>> prepareSnapshot(const std::string& snapshotter, const std::string& key,
                                             const std::string& parent, const Labels& labels = {});
  Result<std::vector<Mount>> snapshotMounts(const std::string& snapshotter, const std::string& key);
  Status commitSnapshot(const std::string& snapshotter, const std::string& name,
                        const std::string& key, const Labels& labels = {});
  Status removeSnapshot(const std::string& snapshotter, const std::string& key);
  // Applies a layer onto mounts; returns the descriptor of the uncompressed content (diff id).
  Result<Descriptor> applyDiff(const Descriptor& layer, const std::vector<Mount>& mounts,
                               std::chrono::milliseconds deadline = std::chrono::minutes(10));

  // Containers (metadata only).
  Status createContainer(const ContainerRecord& c);
  Result<ContainerRecord> getContainer(const std::string& id);
  // `filter` in containerd's syntax, e.g. `labels."oakestra.instance"`.
  Result<std::vector<ContainerRecord>> listContainers(const std::string& filter = "");
  Status deleteContainer(const std::string& id);

  // Tasks (the running process of a container).
  Result<uint32_t> createTask(const std::string& id, const std::vector<Mount>& rootfs,
                              const std::string& stdout_uri, const std::string& stderr_uri);
  Result<uint32_t> startTask(const std::string& id);
  Result<TaskInfo> getTask(const std::string& id);
  Result<std::vector<TaskInfo>> listTasks();
  Status killTask(const std::string& id, int signal, bool all = true);
  // Waits up to `deadline` for the task to stop; returns its exit status (kUnavailable on timeout).
  Result<uint32_t> waitTask(const std::string& id, std::chrono::milliseconds deadline);
  // Removes a stopped task; returns its exit status.
  Result<uint32_t> deleteTask(const std::string& id);

  // Calls `on_exit` (on a thread of the client) for every task exit in the namespace until the
  // returned handle is destroyed. When the stream breaks (containerd restarting), `on_state`
  // gets false, the stream is re-opened with backoff, and `on_state` gets true once it is back:
  // exits in between were missed and must be reconciled by the caller.
  class Subscription {
   public:
    virtual ~Subscription() = default;
  };
  std::unique_ptr<Subscription> subscribeExits(std::function<void(TaskExit)> on_exit,
                                               std::function<void(bool connected)> on_state);

  const std::string& socketPath() const;
  const std::string& containerdNamespace() const;

  struct Impl;

 private:
  ContainerdClient(std::shared_ptr<Impl> impl, std::string lease);
  std::shared_ptr<Impl> impl_;
  std::string lease_;
};

}  // namespace oak::worker::containerd
