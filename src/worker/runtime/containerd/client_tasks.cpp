// Containers and tasks.
#include <fmt/format.h>

#include "worker/runtime/containerd/client_impl.h"

namespace oak::worker::containerd {
namespace {

// How containerd recognises a runtime spec inside an Any.
constexpr char kSpecType[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
// Our own payloads in a container's extensions: opaque bytes under this type.
constexpr char kExtensionType[] = "oakestra.io/extension";
// Starting and stopping runc can take a moment on a loaded host.
constexpr auto kTaskDeadline = std::chrono::seconds(30);

TaskStatus fromApi(::containerd::v1::types::Status s) {
  switch (s) {
    case ::containerd::v1::types::CREATED:
      return TaskStatus::kCreated;
    case ::containerd::v1::types::RUNNING:
      return TaskStatus::kRunning;
    case ::containerd::v1::types::STOPPED:
      return TaskStatus::kStopped;
    case ::containerd::v1::types::PAUSED:
      return TaskStatus::kPaused;
    case ::containerd::v1::types::PAUSING:
      return TaskStatus::kPausing;
    default:
      return TaskStatus::kUnknown;
  }
}

TaskInfo fromApi(const ::containerd::v1::types::Process& p) {
  return TaskInfo{p.container_id(), p.pid(), fromApi(p.status()), p.exit_status()};
}

ContainerRecord fromApi(const api::containers::Container& c) {
  ContainerRecord r;
  r.id = c.id();
  r.image = c.image();
  r.labels = labelsFrom(c.labels());
  r.runtime = c.runtime().name();
  r.spec_json = c.spec().value();
  r.snapshotter = c.snapshotter();
  r.snapshot_key = c.snapshot_key();
  for (const auto& [k, v] : c.extensions()) r.extensions[k] = v.value();
  return r;
}

}  // namespace

Status ContainerdClient::createContainer(const ContainerRecord& c) {
  api::containers::CreateContainerRequest req;
  auto* out = req.mutable_container();
  out->set_id(c.id);
  out->set_image(c.image);
  copyLabels(c.labels, out->mutable_labels());
  out->mutable_runtime()->set_name(c.runtime);
  out->mutable_spec()->set_type_url(kSpecType);
  out->mutable_spec()->set_value(c.spec_json);
  out->set_snapshotter(c.snapshotter);
  out->set_snapshot_key(c.snapshot_key);
  for (const auto& [k, v] : c.extensions) {
    auto& any = (*out->mutable_extensions())[k];
    any.set_type_url(kExtensionType);
    any.set_value(v);
  }
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, api::kContainerCreate, req,
                "create container " + c.id));
  return {};
}

Result<ContainerRecord> ContainerdClient::getContainer(const std::string& id) {
  api::containers::GetContainerRequest req;
  req.set_id(id);
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, api::kContainerGet, req,
                                        "container " + id));
  return fromApi(resp.container());
}

Result<std::vector<ContainerRecord>> ContainerdClient::listContainers(const std::string& filter) {
  api::containers::ListContainersRequest req;
  if (!filter.empty()) req.add_filters(filter);
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, api::kContainerList, req,
                                        "list containers"));
  std::vector<ContainerRecord> out;
  for (const auto& c : resp.containers()) out.push_back(fromApi(c));
  return out;
}

Status ContainerdClient::deleteContainer(const std::string& id) {
  api::containers::DeleteContainerRequest req;
  req.set_id(id);
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, api::kContainerDelete, req,
                "delete container " + id));
  return {};
}

Result<uint32_t> ContainerdClient::createTask(const std::string& id,
                                              const std::vector<Mount>& rootfs,
                                              const std::string& stdout_uri,
                                              const std::string& stderr_uri) {
  api::tasks::CreateTaskRequest req;
  req.set_container_id(id);
  for (const auto& m : rootfs) toApi(m, req.add_rootfs());
  req.set_stdout(stdout_uri);
  req.set_stderr(stderr_uri);
  OAK_ASSIGN_OR_RETURN(
      auto resp, unary(*impl_, lease_, kTaskDeadline, api::kTaskCreate, req, "create task " + id));
  return resp.pid();
}

Result<uint32_t> ContainerdClient::startTask(const std::string& id) {
  api::tasks::StartRequest req;
  req.set_container_id(id);
  OAK_ASSIGN_OR_RETURN(
      auto resp, unary(*impl_, lease_, kTaskDeadline, api::kTaskStart, req, "start task " + id));
  return resp.pid();
}

Result<TaskInfo> ContainerdClient::getTask(const std::string& id) {
  api::tasks::GetRequest req;
  req.set_container_id(id);
  OAK_ASSIGN_OR_RETURN(auto resp,
                       unary(*impl_, lease_, kDefaultDeadline, api::kTaskGet, req, "task " + id));
  return fromApi(resp.process());
}

Result<std::vector<TaskInfo>> ContainerdClient::listTasks() {
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, api::kTaskList,
                                        api::tasks::ListTasksRequest(), "list tasks"));
  std::vector<TaskInfo> out;
  for (const auto& p : resp.tasks()) out.push_back(fromApi(p));
  return out;
}

Status ContainerdClient::killTask(const std::string& id, int signal, bool all) {
  api::tasks::KillRequest req;
  req.set_container_id(id);
  req.set_signal(static_cast<uint32_t>(signal));
  req.set_all(all);
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, api::kTaskKill, req,
                fmt::format("kill task {} (signal {})", id, signal)));
  return {};
}

Result<uint32_t> ContainerdClient::waitTask(const std::string& id,
                                            std::chrono::milliseconds deadline) {
  api::tasks::WaitRequest req;
  req.set_container_id(id);
  OAK_ASSIGN_OR_RETURN(auto resp,
                       unary(*impl_, lease_, deadline, api::kTaskWait, req, "wait for task " + id));
  return resp.exit_status();
}

Result<uint32_t> ContainerdClient::deleteTask(const std::string& id) {
  api::tasks::DeleteTaskRequest req;
  req.set_container_id(id);
  OAK_ASSIGN_OR_RETURN(
      auto resp, unary(*impl_, lease_, kTaskDeadline, api::kTaskDelete, req, "delete task " + id));
  return resp.exit_status();
}

}  // namespace oak::worker::containerd
