#include "worker/runtime/containerd/client.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "github.com/containerd/containerd/api/services/version/v1/version.grpc.pb.h"

namespace oak::worker::containerd {
namespace {

namespace version_v1 = ::containerd::services::version::v1;

// containerd picks the namespace of a request from this metadata key.
constexpr char kNamespaceHeader[] = "containerd-namespace";

Error fromGrpc(const grpc::Status& s, const std::string& what) {
  auto message = fmt::format("containerd: {}: {}", what, s.error_message());
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return makeError(ErrorCode::kUnavailable, std::move(message));
    case grpc::StatusCode::NOT_FOUND:
      return makeError(ErrorCode::kNotFound, std::move(message));
    case grpc::StatusCode::ALREADY_EXISTS:
      return makeError(ErrorCode::kConflict, std::move(message));
    case grpc::StatusCode::INVALID_ARGUMENT:
      return makeError(ErrorCode::kInvalidArgument, std::move(message));
    default:
      return makeError(ErrorCode::kInternal, std::move(message));
  }
}

}  // namespace

struct ContainerdClient::Impl {
  std::string socket_path;
  std::string ns;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<version_v1::Version::Stub> version;

  // A context for one call: the namespace, and a deadline so that a hung daemon cannot hang us.
  std::unique_ptr<grpc::ClientContext> context(std::chrono::milliseconds deadline) const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata(kNamespaceHeader, ns);
    ctx->set_deadline(std::chrono::system_clock::now() + deadline);
    // Wait for the connection up to the deadline instead of failing at the first refusal, so
    // that a daemon that is starting gets its chance.
    ctx->set_wait_for_ready(true);
    return ctx;
  }
};

Result<std::unique_ptr<ContainerdClient>> ContainerdClient::connect(std::string socket_path,
                                                                    std::string ns) {
  struct stat st {};
  if (::stat(socket_path.c_str(), &st) != 0) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("containerd: socket {}: {}", socket_path, std::strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("containerd: {} is not a socket", socket_path));
  }
  if (ns.empty()) return makeError(ErrorCode::kInvalidArgument, "containerd: empty namespace");

  auto impl = std::make_unique<Impl>();
  impl->socket_path = std::move(socket_path);
  impl->ns = std::move(ns);
  impl->channel =
      grpc::CreateChannel("unix://" + impl->socket_path, grpc::InsecureChannelCredentials());
  impl->version = version_v1::Version::NewStub(impl->channel);
  return std::unique_ptr<ContainerdClient>(new ContainerdClient(std::move(impl)));
}

ContainerdClient::ContainerdClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ContainerdClient::~ContainerdClient() = default;

Result<std::string> ContainerdClient::version(std::chrono::milliseconds deadline) {
  auto ctx = impl_->context(deadline);
  google::protobuf::Empty request;
  version_v1::VersionResponse response;
  auto status = impl_->version->Version(ctx.get(), request, &response);
  if (!status.ok()) return fromGrpc(status, "version at " + impl_->socket_path);
  if (response.version().empty()) {
    return makeError(ErrorCode::kInternal, "containerd: version: empty answer");
  }
  return response.version();
}

const std::string& ContainerdClient::socketPath() const {
  return impl_->socket_path;
}
const std::string& ContainerdClient::containerdNamespace() const {
  return impl_->ns;
}

}  // namespace oak::worker::containerd
