#include "worker/runtime/containerd/client.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "worker/runtime/containerd/client_impl.h"

namespace oak::worker::containerd {
namespace {

// containerd picks the namespace of a request from this metadata key, and the lease from the
// second one.
constexpr char kNamespaceHeader[] = "containerd-namespace";
constexpr char kLeaseHeader[] = "containerd-lease";

}  // namespace

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
    case grpc::StatusCode::FAILED_PRECONDITION:
      return makeError(ErrorCode::kInvalidArgument, std::move(message));
    default:
      return makeError(ErrorCode::kInternal, std::move(message));
  }
}

std::unique_ptr<grpc::ClientContext> ContainerdClient::Impl::context(
    std::chrono::milliseconds deadline, const std::string& lease) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata(kNamespaceHeader, ns);
  if (!lease.empty()) ctx->AddMetadata(kLeaseHeader, lease);
  if (deadline.count() > 0) ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  // Wait for the connection up to the deadline instead of failing at the first refusal, so
  // that a daemon that is starting gets its chance.
  ctx->set_wait_for_ready(true);
  return ctx;
}

void toApi(const Mount& m, api::types::Mount* out) {
  out->set_type(m.type);
  out->set_source(m.source);
  out->set_target(m.target);
  for (const auto& o : m.options) out->add_options(o);
}

Mount fromApi(const api::types::Mount& m) {
  return Mount{m.type(), m.source(), m.target(), {m.options().begin(), m.options().end()}};
}

std::vector<Mount> fromApi(const google::protobuf::RepeatedPtrField<api::types::Mount>& mounts) {
  std::vector<Mount> out;
  for (const auto& m : mounts) out.push_back(fromApi(m));
  return out;
}

void toApi(const Descriptor& d, api::types::Descriptor* out) {
  out->set_media_type(d.media_type);
  out->set_digest(d.digest);
  out->set_size(d.size);
}

Descriptor fromApi(const api::types::Descriptor& d) {
  return Descriptor{d.media_type(), d.digest(), d.size()};
}

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

  auto impl = std::make_shared<Impl>();
  impl->socket_path = std::move(socket_path);
  impl->ns = std::move(ns);
  grpc::ChannelArguments args;
  // Layers and manifests are written in chunks well below this; keep headroom for big specs.
  args.SetMaxReceiveMessageSize(64 << 20);
  impl->channel = grpc::CreateCustomChannel("unix://" + impl->socket_path,
                                            grpc::InsecureChannelCredentials(), args);
  impl->containers = api::containers::Containers::NewStub(impl->channel);
  impl->content = api::content::Content::NewStub(impl->channel);
  impl->diff = api::diff::Diff::NewStub(impl->channel);
  impl->events = api::events::Events::NewStub(impl->channel);
  impl->images = api::images::Images::NewStub(impl->channel);
  impl->leases = api::leases::Leases::NewStub(impl->channel);
  impl->snapshots = api::snapshots::Snapshots::NewStub(impl->channel);
  impl->tasks = api::tasks::Tasks::NewStub(impl->channel);
  impl->version = api::version::Version::NewStub(impl->channel);
  return std::unique_ptr<ContainerdClient>(new ContainerdClient(std::move(impl), ""));
}

ContainerdClient::ContainerdClient(std::shared_ptr<Impl> impl, std::string lease)
    : impl_(std::move(impl)), lease_(std::move(lease)) {}
ContainerdClient::~ContainerdClient() = default;

std::unique_ptr<ContainerdClient> ContainerdClient::withLease(std::string lease) const {
  return std::unique_ptr<ContainerdClient>(new ContainerdClient(impl_, std::move(lease)));
}

Result<std::string> ContainerdClient::version(std::chrono::milliseconds deadline) {
  auto ctx = impl_->context(deadline);
  google::protobuf::Empty request;
  api::version::VersionResponse response;
  auto status = impl_->version->Version(ctx.get(), request, &response);
  if (!status.ok()) return fromGrpc(status, "version at " + impl_->socket_path);
  if (response.version().empty()) {
    return makeError(ErrorCode::kInternal, "containerd: version: empty answer");
  }
  return response.version();
}

Status ContainerdClient::createLease(const std::string& id, std::chrono::seconds expire_after) {
  auto ctx = impl_->context(kDefaultDeadline);
  api::leases::CreateRequest req;
  req.set_id(id);
  // containerd's collector deletes the lease after this time even if we never come back.
  auto expiry = std::chrono::system_clock::now() + expire_after;
  std::time_t t = std::chrono::system_clock::to_time_t(expiry);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  (*req.mutable_labels())["containerd.io/gc.expire"] = text;
  api::leases::CreateResponse resp;
  auto s = impl_->leases->Create(ctx.get(), req, &resp);
  if (!s.ok()) return fromGrpc(s, "create lease " + id);
  return {};
}

Status ContainerdClient::deleteLease(const std::string& id) {
  auto ctx = impl_->context(kDefaultDeadline);
  api::leases::DeleteRequest req;
  req.set_id(id);
  google::protobuf::Empty resp;
  auto s = impl_->leases->Delete(ctx.get(), req, &resp);
  if (!s.ok()) return fromGrpc(s, "delete lease " + id);
  return {};
}

const std::string& ContainerdClient::socketPath() const {
  return impl_->socket_path;
}
const std::string& ContainerdClient::containerdNamespace() const {
  return impl_->ns;
}

}  // namespace oak::worker::containerd
