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

Error fromRpc(const rpc::CallStatus& s, const std::string& what) {
  auto message = fmt::format("containerd: {}: {}", what, s.message);
  switch (s.code) {
    case rpc::StatusCode::kUnavailable:
    case rpc::StatusCode::kDeadlineExceeded:
      return makeError(ErrorCode::kUnavailable, std::move(message));
    case rpc::StatusCode::kNotFound:
      return makeError(ErrorCode::kNotFound, std::move(message));
    case rpc::StatusCode::kAlreadyExists:
      return makeError(ErrorCode::kConflict, std::move(message));
    case rpc::StatusCode::kInvalidArgument:
    case rpc::StatusCode::kFailedPrecondition:
      return makeError(ErrorCode::kInvalidArgument, std::move(message));
    default:
      return makeError(ErrorCode::kInternal, std::move(message));
  }
}

Error undecodable(const std::string& what) {
  return makeError(ErrorCode::kInternal, fmt::format("containerd: {}: undecodable answer", what));
}

rpc::CallOptions ContainerdClient::Impl::options(std::chrono::milliseconds deadline,
                                                 const std::string& lease) const {
  rpc::CallOptions o;
  o.metadata.emplace_back(kNamespaceHeader, ns);
  if (!lease.empty()) o.metadata.emplace_back(kLeaseHeader, lease);
  // The channel waits for the daemon up to the deadline instead of failing at the first
  // refusal, so that a daemon that is starting gets its chance.
  o.deadline = deadline;
  return o;
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
  // Layers and manifests are written in chunks well below the channel's message limit.
  impl->channel = rpc::Channel::unixSocket(impl->socket_path);
  return std::unique_ptr<ContainerdClient>(new ContainerdClient(std::move(impl), ""));
}

ContainerdClient::ContainerdClient(std::shared_ptr<Impl> impl, std::string lease)
    : impl_(std::move(impl)), lease_(std::move(lease)) {}
ContainerdClient::~ContainerdClient() = default;

std::unique_ptr<ContainerdClient> ContainerdClient::withLease(std::string lease) const {
  return std::unique_ptr<ContainerdClient>(new ContainerdClient(impl_, std::move(lease)));
}

Result<std::string> ContainerdClient::version(std::chrono::milliseconds deadline) {
  OAK_ASSIGN_OR_RETURN(auto response, unary(*impl_, "", deadline, api::kVersion, api::Empty(),
                                            "version at " + impl_->socket_path));
  if (response.version().empty()) {
    return makeError(ErrorCode::kInternal, "containerd: version: empty answer");
  }
  return response.version();
}

Status ContainerdClient::createLease(const std::string& id, std::chrono::seconds expire_after) {
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
  OAK_TRY(unary(*impl_, "", kDefaultDeadline, api::kLeaseCreate, req, "create lease " + id));
  return {};
}

Status ContainerdClient::deleteLease(const std::string& id) {
  api::leases::DeleteRequest req;
  req.set_id(id);
  OAK_TRY(unary(*impl_, "", kDefaultDeadline, api::kLeaseDelete, req, "delete lease " + id));
  return {};
}

const std::string& ContainerdClient::socketPath() const {
  return impl_->socket_path;
}
const std::string& ContainerdClient::containerdNamespace() const {
  return impl_->ns;
}

}  // namespace oak::worker::containerd
