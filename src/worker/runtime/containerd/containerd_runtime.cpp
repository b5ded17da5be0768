#include "worker/runtime/containerd/containerd_runtime.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

#include "auth/password.h"
#include "common/json.h"

namespace oak::worker::containerd {
namespace {

// Marks our containers (so that recover ignores anything else in the namespace) and keeps the
// spec they were launched with.
constexpr char kTaskLabel[] = "oakestra.io/task";
constexpr char kSpecExtension[] = "oakestra.io/instance";
constexpr auto kKillWait = std::chrono::seconds(5);
constexpr auto kLaunchLease = std::chrono::minutes(10);

}  // namespace

ContainerdRuntime::ContainerdRuntime(TaskRunner& loop, std::unique_ptr<ContainerdClient> client,
                                     std::unique_ptr<ImagePuller> puller,
                                     ContainerdRuntimeOptions options)
    : loop_(loop),
      client_(std::move(client)),
      puller_(std::move(puller)),
      options_(std::move(options)),
      cpus_(std::max(1u, std::thread::hardware_concurrency())) {}

ContainerdRuntime::~ContainerdRuntime() = default;

Status ContainerdRuntime::probe(std::chrono::milliseconds deadline) {
  auto version = client_->version(deadline);
  available_ = version.has_value();
  if (!version) return version.error();
  spdlog::info("containerd {} at {}", *version, client_->socketPath());
  // Exits are handled on the loop, in arrival order with everything else.
  exit_stream_ = client_->subscribeExits(
      [this](TaskExit e) {
        if (e.process_id != e.container_id) return;  // an exec'd process, not the instance
        loop_.post([this, e] { onExit(e.container_id, e.exit_status); });
      },
      [this](bool connected) { loop_.post([this, connected] { onStreamState(connected); }); });
  return {};
}

void ContainerdRuntime::recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) {
  auto found =
      std::make_shared<Result<std::vector<std::pair<InstanceSpec, std::optional<uint32_t>>>>>();
  loop_.runBlocking([this, found] { *found = scan(); },
                    [this, found, done = std::move(done)] {
                      if (!*found) {
                        done(found->error());
                        return;
                      }
                      std::vector<InstanceSpec> specs;
                      for (auto& [spec, exit_status] : **found) {
                        std::string id = spec.taskId();
                        Task& task = tasks_[id];
                        task.spec = spec;
                        task.state = State::kRunning;
                        specs.push_back(spec);
                        // Ended while the worker was away: reported as such to the first wait.
                        if (exit_status) finish(id, ExitInfo{static_cast<int>(*exit_status), ""});
                      }
                      done(std::move(specs));
                    });
}

Result<std::vector<std::pair<InstanceSpec, std::optional<uint32_t>>>> ContainerdRuntime::scan() {
  OAK_ASSIGN_OR_RETURN(auto containers,
                       client_->listContainers(fmt::format("labels.\"{}\"", kTaskLabel)));
  std::vector<std::pair<InstanceSpec, std::optional<uint32_t>>> out;
  for (const auto& c : containers) {
    Result<InstanceSpec> spec = makeError(ErrorCode::kNotFound, "no instance spec");
    if (auto payload = c.extensions.find(kSpecExtension); payload != c.extensions.end()) {
      auto parsed = json::parse(payload->second);
      if (parsed && parsed->is_object()) spec = InstanceSpec::fromJson(parsed->as_object());
    }
    if (!spec || spec->taskId() != c.id) {
      spdlog::warn("containerd: container {} has no usable instance spec; removing it", c.id);
      cleanup(c.id);
      continue;
    }
    auto task = client_->getTask(c.id);
    if (task && task->status == TaskStatus::kRunning) {
      spdlog::info("{}: re-attached (pid {})", c.id, task->pid);
      out.emplace_back(std::move(*spec), std::nullopt);
      continue;
    }
    // Stopped, or never started: what is left goes, and a stop is reported as an exit.
    auto exit_status = cleanup(c.id);
    spdlog::info("{}: ended while the worker was away", c.id);
    if (task) out.emplace_back(std::move(*spec), exit_status.value_or(task->exit_status));
  }
  return out;
}

void ContainerdRuntime::launch(const InstanceSpec& spec,
                               std::function<void(Result<LaunchResult>)> done) {
  if (spec.virtualization != "docker") {
    done(LaunchResult::kNotSupported);
    return;
  }
  std::string id = spec.taskId();
  if (tasks_.count(id) != 0) {
    done(LaunchResult::kAlreadyLaunched);
    return;
  }
  tasks_[id].spec = spec;
  waiters_.forget(id);  // an earlier life of the task id that nobody waited for
  auto result = std::make_shared<Status>();
  loop_.runBlocking([this, spec, result] { *result = start(spec); },
                    [this, id, result, done = std::move(done)] {
                      Task& task = tasks_.at(id);
                      if (!*result) {
                        tasks_.erase(id);
                        done(result->error());
                        return;
                      }
                      task.state = State::kRunning;
                      std::optional<uint32_t> early_exit = task.exit_status;
                      done(LaunchResult::kSuccess);
                      // It may have ended already (a command that fails at once).
                      if (early_exit) startCleaning(id, *early_exit);
                    });
}

Status ContainerdRuntime::start(const InstanceSpec& spec) {
  std::string id = spec.taskId();
  auto progress = [this, id](const std::string& line) {
    loop_.post([this, id, line] {
      if (progress_) progress_(id, line);
    });
  };
  OAK_ASSIGN_OR_RETURN(auto image, puller_->ensure(spec.image, progress));
  auto started = create(spec, image);
  if (!started && started.error().code == ErrorCode::kConflict) {
    // Leftovers of an earlier life of this task id (a crash between steps): clear, once more.
    cleanup(id);
    started = create(spec, image);
  } else if (!started && started.error().code == ErrorCode::kNotFound) {
    // The image went away since it was last used (removed by hand): bring it back, once more.
    cleanup(id);
    puller_->forget(spec.image);
    OAK_ASSIGN_OR_RETURN(image, puller_->ensure(spec.image, progress));
    started = create(spec, image);
  }
  if (!started) cleanup(id);
  return started;
}

Status ContainerdRuntime::create(const InstanceSpec& spec, const PulledImage& image) {
  std::string id = spec.taskId();
  SpecOptions spec_options = options_.spec;
  if (!spec.netns_path.empty()) spec_options.netns_path = spec.netns_path;
  OAK_ASSIGN_OR_RETURN(auto spec_json, buildSpec(spec, image.config, spec_options));
  // Until the container record references the new snapshot, only a lease keeps containerd's
  // collector off it.
  std::string lease = "oak-launch-" + auth::randomHex(8);
  OAK_TRY(client_->createLease(lease, kLaunchLease));
  auto leased = client_->withLease(lease);
  auto created = [&]() -> Status {
    OAK_ASSIGN_OR_RETURN(auto mounts,
                         leased->prepareSnapshot(options_.snapshotter, id, image.chain_id));
    ContainerRecord record;
    record.id = id;
    record.image = image.name;
    record.labels = {{kTaskLabel, id}};
    record.runtime = options_.shim;
    record.spec_json = std::move(spec_json);
    record.snapshotter = options_.snapshotter;
    record.snapshot_key = id;
    record.extensions[kSpecExtension] = json::dump(spec.toJson());
    OAK_TRY(leased->createContainer(record));
    std::string uri = options_.log_uri ? options_.log_uri(spec) : std::string();
    OAK_TRY(leased->createTask(id, mounts, uri, uri));
    OAK_TRY(leased->startTask(id));
    return {};
  }();
  client_->deleteLease(lease);
  return created;
}

std::optional<uint32_t> ContainerdRuntime::cleanup(const std::string& task_id) {
  std::optional<uint32_t> exit_status;
  auto deleted = client_->deleteTask(task_id);
  if (!deleted && deleted.error().code != ErrorCode::kNotFound) {
    // Still running (a failed start, or a leftover): kill it first.
    client_->killTask(task_id, SIGKILL);
    client_->waitTask(task_id, kKillWait);
    deleted = client_->deleteTask(task_id);
  }
  if (deleted) exit_status = *deleted;
  if (!deleted && deleted.error().code != ErrorCode::kNotFound) {
    spdlog::error("{}: {}", task_id, deleted.error().message);
  }
  for (auto s : {client_->deleteContainer(task_id),
                 client_->removeSnapshot(options_.snapshotter, task_id)}) {
    if (!s && s.error().code != ErrorCode::kNotFound)
      spdlog::error("{}: {}", task_id, s.error().message);
  }
  return exit_status;
}

std::optional<uint32_t> ContainerdRuntime::stop(const std::string& task_id) {
  if (client_->killTask(task_id, SIGTERM)) {
    if (!client_->waitTask(task_id, options_.stop_grace)) {
      spdlog::info("{}: no exit {} s after SIGTERM; killing it", task_id,
                   options_.stop_grace.count());
      client_->killTask(task_id, SIGKILL);
      client_->waitTask(task_id, kKillWait);
    }
  }
  return cleanup(task_id);
}

void ContainerdRuntime::onExit(const std::string& task_id, uint32_t exit_status) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  Task& task = it->second;
  switch (task.state) {
    case State::kStarting:
      task.exit_status = exit_status;  // handled once the launch completes
      return;
    case State::kRunning:
      startCleaning(task_id, exit_status);
      return;
    case State::kStopping:
    case State::kCleaning:
      return;  // already on its way out
  }
}

void ContainerdRuntime::startCleaning(const std::string& task_id, uint32_t exit_status) {
  tasks_.at(task_id).state = State::kCleaning;
  loop_.runBlocking([this, task_id] { cleanup(task_id); },
                    [this, task_id, exit_status] {
                      finish(task_id, ExitInfo{static_cast<int>(exit_status), ""});
                    });
}

void ContainerdRuntime::onStreamState(bool connected) {
  if (!connected) return;
  // Exits may have happened while the stream was down: ask about every running instance.
  for (const auto& [id, task] : tasks_) {
    if (task.state != State::kRunning) continue;
    auto info = std::make_shared<Result<TaskInfo>>(makeError(ErrorCode::kInternal, ""));
    loop_.runBlocking([this, id = id, info] { *info = client_->getTask(id); },
                      [this, id = id, info] {
                        if (*info && (*info)->status == TaskStatus::kRunning) return;
                        auto it = tasks_.find(id);
                        if (it == tasks_.end() || it->second.state != State::kRunning) return;
                        spdlog::warn("{}: ended while containerd's events were away", id);
                        startCleaning(id, *info ? (*info)->exit_status : 255);
                      });
  }
}

void ContainerdRuntime::finish(const std::string& task_id, ExitInfo info) {
  if (tasks_.erase(task_id) == 0) return;
  waiters_.ended(task_id, info);
}

void ContainerdRuntime::wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) {
  waiters_.wait(task_id, tasks_.count(task_id) != 0, std::move(on_exit));
}

void ContainerdRuntime::destroy(const std::string& task_id, std::function<void(Status)> done) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.state == State::kStarting) {
    done(makeError(ErrorCode::kNotFound, task_id + ": not running"));
    return;
  }
  Task& task = it->second;
  if (task.state != State::kRunning) {
    // Already ending: done when it is gone.
    waiters_.add(task_id, [done = std::move(done)](const ExitInfo&) { done(Status{}); });
    return;
  }
  task.state = State::kStopping;
  auto exit_status = std::make_shared<std::optional<uint32_t>>();
  loop_.runBlocking([this, task_id, exit_status] { *exit_status = stop(task_id); },
                    [this, task_id, exit_status, done = std::move(done)] {
                      int code = exit_status->has_value() ? static_cast<int>(**exit_status) : -1;
                      finish(task_id, ExitInfo{code, "destroyed"});
                      done(Status{});
                    });
}

void ContainerdRuntime::usage(const std::string& task_id, std::function<void(Result<Usage>)> done) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.state != State::kRunning) {
    done(makeError(ErrorCode::kNotFound, task_id + ": not running"));
    return;
  }
  auto sample = readCgroup(options_.cgroup_root, options_.spec.cgroups_parent + "/" + task_id);
  if (!sample) {
    done(makeError(ErrorCode::kNotFound, task_id + ": no cgroup"));
    return;
  }
  Usage u;
  u.memory_mb = static_cast<double>(sample->memory_bytes) / (1024.0 * 1024.0);
  if (it->second.last_sample) u.cpu_percent = cpuPercent(*it->second.last_sample, *sample, cpus_);
  it->second.last_sample = sample;
  done(u);
}

std::vector<std::string> ContainerdRuntime::list() const {
  std::vector<std::string> out;
  for (const auto& [id, task] : tasks_) {
    if (task.state == State::kRunning) out.push_back(id);
  }
  return out;
}

}  // namespace oak::worker::containerd
