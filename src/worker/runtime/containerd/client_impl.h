#pragma once
// Private to the client_*.cpp files: the channel, the stubs, and the helpers every call uses.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/result.h"
#include "github.com/containerd/containerd/api/services/containers/v1/containers.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/content/v1/content.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/diff/v1/diff.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/events/v1/events.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/images/v1/images.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/leases/v1/leases.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/snapshots/v1/snapshots.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/tasks/v1/tasks.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/version/v1/version.grpc.pb.h"
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
}  // namespace api

struct ContainerdClient::Impl {
  std::string socket_path;
  std::string ns;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<api::containers::Containers::Stub> containers;
  std::unique_ptr<api::content::Content::Stub> content;
  std::unique_ptr<api::diff::Diff::Stub> diff;
  std::unique_ptr<api::events::Events::Stub> events;
  std::unique_ptr<api::images::Images::Stub> images;
  std::unique_ptr<api::leases::Leases::Stub> leases;
  std::unique_ptr<api::snapshots::Snapshots::Stub> snapshots;
  std::unique_ptr<api::tasks::Tasks::Stub> tasks;
  std::unique_ptr<api::version::Version::Stub> version;

  // A context for one call: the namespace, the lease if any, and a deadline so that a hung
  // daemon cannot hang us. `deadline` zero means none (event streams).
  std::unique_ptr<grpc::ClientContext> context(std::chrono::milliseconds deadline,
                                               const std::string& lease = {}) const;
};

// containerd's error as ours: the code mapped, the message prefixed with what we were doing.
Error fromGrpc(const grpc::Status& s, const std::string& what);

// One unary call: context (namespace, lease, deadline), the call, the error mapped.
template <typename Stub, typename Request, typename Response>
Result<Response> unary(const ContainerdClient::Impl& impl, const std::string& lease,
                       std::chrono::milliseconds deadline, Stub& stub,
                       grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                    Response*),
                       const Request& request, const std::string& what) {
  auto ctx = impl.context(deadline, lease);
  Response response;
  auto status = (stub.*method)(ctx.get(), request, &response);
  if (!status.ok()) return fromGrpc(status, what);
  return response;
}

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
