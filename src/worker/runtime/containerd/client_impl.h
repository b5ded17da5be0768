#pragma once
// Private to the client_*.cpp files: the channel, containerd's methods with their message
// types, and the helpers every call uses.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "github.com/containerd/containerd/api/services/containers/v1/containers.pb.h"
#include "github.com/containerd/containerd/api/services/content/v1/content.pb.h"
#include "github.com/containerd/containerd/api/services/diff/v1/diff.pb.h"
#include "github.com/containerd/containerd/api/services/events/v1/events.pb.h"
#include "github.com/containerd/containerd/api/services/images/v1/images.pb.h"
#include "github.com/containerd/containerd/api/services/leases/v1/leases.pb.h"
#include "github.com/containerd/containerd/api/services/snapshots/v1/snapshots.pb.h"
#include "github.com/containerd/containerd/api/services/tasks/v1/tasks.pb.h"
#include "github.com/containerd/containerd/api/services/version/v1/version.pb.h"
#include "rpc/channel.h"
#include "worker/runtime/containerd/client.h"

namespace oak::worker::containerd {

namespace api {
namespace containers = ::containerd::services::containers::v1;
namespace content = ::containerd::services::content::v1;
namespace diff = ::containerd::services::diff::v1;
namespace events = ::containerd::services::events::v1;
namespace images = ::containerd::services::images::v1;
namespace leases = ::containerd::services::leases::v1;
namespace snapshots = ::containerd::services::snapshots::v1;
namespace tasks = ::containerd::services::tasks::v1;
namespace version = ::containerd::services::version::v1;
namespace types = ::containerd::types;
using Empty = ::google::protobuf::Empty;

// A method of the API: its path and, in the type, its request and response messages (what the
// generated stubs of the full gRPC runtime gave; the lite runtime has none).
template <typename Request, typename Response>
struct Method {
  std::string_view path;
};

#define OAK_CONTAINERD_METHOD(name, service, rpc, Request, Response) \
  inline constexpr Method<Request, Response> name {                  \
    "/containerd.services." service "/" rpc                          \
  }

OAK_CONTAINERD_METHOD(kVersion, "version.v1.Version", "Version", Empty, version::VersionResponse);
OAK_CONTAINERD_METHOD(kLeaseCreate, "leases.v1.Leases", "Create", leases::CreateRequest,
                      leases::CreateResponse);
OAK_CONTAINERD_METHOD(kLeaseDelete, "leases.v1.Leases", "Delete", leases::DeleteRequest, Empty);
OAK_CONTAINERD_METHOD(kContentInfo, "content.v1.Content", "Info", content::InfoRequest,
                      content::InfoResponse);
OAK_CONTAINERD_METHOD(kContentUpdate, "content.v1.Content", "Update", content::UpdateRequest,
                      content::UpdateResponse);
OAK_CONTAINERD_METHOD(kContentAbort, "content.v1.Content", "Abort", content::AbortRequest, Empty);
OAK_CONTAINERD_METHOD(kContentRead, "content.v1.Content", "Read", content::ReadContentRequest,
                      content::ReadContentResponse);
OAK_CONTAINERD_METHOD(kContentWrite, "content.v1.Content", "Write", content::WriteContentRequest,
                      content::WriteContentResponse);
OAK_CONTAINERD_METHOD(kImageGet, "images.v1.Images", "Get", images::GetImageRequest,
                      images::GetImageResponse);
OAK_CONTAINERD_METHOD(kImageCreate, "images.v1.Images", "Create", images::CreateImageRequest,
                      images::CreateImageResponse);
OAK_CONTAINERD_METHOD(kImageUpdate, "images.v1.Images", "Update", images::UpdateImageRequest,
                      images::UpdateImageResponse);
OAK_CONTAINERD_METHOD(kSnapshotStat, "snapshots.v1.Snapshots", "Stat",
                      snapshots::StatSnapshotRequest, snapshots::StatSnapshotResponse);
OAK_CONTAINERD_METHOD(kSnapshotPrepare, "snapshots.v1.Snapshots", "Prepare",
                      snapshots::PrepareSnapshotRequest, snapshots::PrepareSnapshotResponse);
OAK_CONTAINERD_METHOD(kSnapshotMounts, "snapshots.v1.Snapshots", "Mounts", snapshots::MountsRequest,
                      snapshots::MountsResponse);
OAK_CONTAINERD_METHOD(kSnapshotCommit, "snapshots.v1.Snapshots", "Commit",
                      snapshots::CommitSnapshotRequest, Empty);
OAK_CONTAINERD_METHOD(kSnapshotRemove, "snapshots.v1.Snapshots", "Remove",
                      snapshots::RemoveSnapshotRequest, Empty);
OAK_CONTAINERD_METHOD(kDiffApply, "diff.v1.Diff", "Apply", diff::ApplyRequest, diff::ApplyResponse);
OAK_CONTAINERD_METHOD(kContainerCreate, "containers.v1.Containers", "Create",
                      containers::CreateContainerRequest, containers::CreateContainerResponse);
OAK_CONTAINERD_METHOD(kContainerGet, "containers.v1.Containers", "Get",
                      containers::GetContainerRequest, containers::GetContainerResponse);
OAK_CONTAINERD_METHOD(kContainerList, "containers.v1.Containers", "List",
                      containers::ListContainersRequest, containers::ListContainersResponse);
OAK_CONTAINERD_METHOD(kContainerDelete, "containers.v1.Containers", "Delete",
                      containers::DeleteContainerRequest, Empty);
OAK_CONTAINERD_METHOD(kTaskCreate, "tasks.v1.Tasks", "Create", tasks::CreateTaskRequest,
                      tasks::CreateTaskResponse);
OAK_CONTAINERD_METHOD(kTaskStart, "tasks.v1.Tasks", "Start", tasks::StartRequest,
                      tasks::StartResponse);
OAK_CONTAINERD_METHOD(kTaskGet, "tasks.v1.Tasks", "Get", tasks::GetRequest, tasks::GetResponse);
OAK_CONTAINERD_METHOD(kTaskList, "tasks.v1.Tasks", "List", tasks::ListTasksRequest,
                      tasks::ListTasksResponse);
OAK_CONTAINERD_METHOD(kTaskKill, "tasks.v1.Tasks", "Kill", tasks::KillRequest, Empty);
OAK_CONTAINERD_METHOD(kTaskWait, "tasks.v1.Tasks", "Wait", tasks::WaitRequest, tasks::WaitResponse);
OAK_CONTAINERD_METHOD(kTaskDelete, "tasks.v1.Tasks", "Delete", tasks::DeleteTaskRequest,
                      tasks::DeleteResponse);
OAK_CONTAINERD_METHOD(kEventsSubscribe, "events.v1.Events", "Subscribe", events::SubscribeRequest,
                      events::Envelope);

#undef OAK_CONTAINERD_METHOD

}  // namespace api

struct ContainerdClient::Impl {
  std::string socket_path;
  std::string ns;
  std::shared_ptr<rpc::Channel> channel;

  // What every call sends: the namespace, the lease if any, and a deadline so that a hung
  // daemon cannot hang us. `deadline` zero means none (event streams).
  rpc::CallOptions options(std::chrono::milliseconds deadline, const std::string& lease = {}) const;
};

// containerd's error as ours: the code mapped, the message prefixed with what we were doing.
Error fromRpc(const rpc::CallStatus& s, const std::string& what);
Error undecodable(const std::string& what);

// One unary call: options (namespace, lease, deadline), the call, the error mapped.
template <typename Request, typename Response>
Result<Response> unary(const ContainerdClient::Impl& impl, const std::string& lease,
                       std::chrono::milliseconds deadline, api::Method<Request, Response> method,
                       const Request& request, const std::string& what) {
  std::string bytes;
  auto status = impl.channel->unary(method.path, request.SerializeAsString(), bytes,
                                    impl.options(deadline, lease));
  if (!status.ok()) return fromRpc(status, what);
  Response response;
  if (!response.ParseFromString(bytes)) return undecodable(what);
  return response;
}

// A streaming call whose messages are typed.
template <typename Request, typename Response>
class TypedStream {
 public:
  TypedStream(const ContainerdClient::Impl& impl, const std::string& lease,
              std::chrono::milliseconds deadline, api::Method<Request, Response> method)
      : stream_(impl.channel->open(method.path, impl.options(deadline, lease))) {}
  bool write(const Request& request) { return stream_->write(request.SerializeAsString()); }
  // The only request of a server stream: sent, then the request side closed.
  bool writeLast(const Request& request) { return write(request) && stream_->writesDone(); }
  // False at the end, when the call failed, or when an answer does not decode (finish() is
  // then kInternal).
  bool read(Response& response) {
    if (!stream_->read(buffer_)) return false;
    if (response.ParseFromString(buffer_)) return true;
    undecodable_ = true;
    stream_->cancel();
    return false;
  }
  void cancel() { stream_->cancel(); }
  rpc::CallStatus finish() {
    auto status = stream_->finish();
    if (undecodable_) return {rpc::StatusCode::kInternal, "undecodable answer"};
    return status;
  }

 private:
  std::unique_ptr<rpc::Stream> stream_;
  std::string buffer_;
  bool undecodable_ = false;
};

// Conversions between our plain structs and the API's messages.
void toApi(const Mount& m, api::types::Mount* out);
Mount fromApi(const api::types::Mount& m);
std::vector<Mount> fromApi(const google::protobuf::RepeatedPtrField<api::types::Mount>& mounts);
void toApi(const Descriptor& d, api::types::Descriptor* out);
Descriptor fromApi(const api::types::Descriptor& d);

template <typename ProtoMap>
void copyLabels(const Labels& labels, ProtoMap* out) {
  for (const auto& [k, v] : labels) (*out)[k] = v;
}
template <typename ProtoMap>
Labels labelsFrom(const ProtoMap& in) {
  return Labels(in.begin(), in.end());
}

}  // namespace oak::worker::containerd
