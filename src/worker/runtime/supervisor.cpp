#include "worker/runtime/supervisor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace oak::worker {
namespace {

constexpr std::string_view kAlreadyDeployed = "instance already deployed";

std::string exitDetail(const ExitInfo& info) {
  if (info.exit_code < 0) return info.reason.empty() ? "ended without an exit code" : info.reason;
  std::string detail = fmt::format("exited with code {}", info.exit_code);
  if (!info.reason.empty()) detail += " (" + info.reason + ")";
  return detail;
}

}  // namespace

InstanceSupervisor::InstanceSupervisor(Runtime& runtime, Reporter report, InstanceNetwork* network)
    : runtime_(runtime), report_(std::move(report)), network_(network) {}

void InstanceSupervisor::recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) {
  runtime_.recover([this, done = std::move(done)](Result<std::vector<InstanceSpec>> result) {
    if (!result) {
      spdlog::error("recovering instances failed: {}", result.error().message);
      if (network_) network_->recovered(false);
      done(std::move(result));
      return;
    }
    std::vector<std::pair<std::string, uint64_t>> adopted;
    for (const auto& spec : *result) {
      std::string id = spec.taskId();
      if (entries_.contains(id)) {
        spdlog::warn("{}: recovered twice; keeping the first", id);
        continue;
      }
      uint64_t generation = ++generations_;
      entries_.emplace(id, Entry{.spec = spec, .state = State::kRunning, .generation = generation});
      if (network_) network_->adopt(spec);
      adopted.emplace_back(std::move(id), generation);
    }
    spdlog::info("recovered {} running instance(s)", adopted.size());
    if (network_) network_->recovered(true);
    // An instance that died while the worker was away ends here at once, as DEAD.
    for (const auto& [id, generation] : adopted) watch(id, generation);
    done(std::move(result));
  });
}

void InstanceSupervisor::deploy(InstanceSpec spec) {
  std::string id = spec.taskId();
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    launch(std::move(spec));
    return;
  }
  Entry& entry = it->second;
  if (entry.remove_requested && !entry.next) {
    spdlog::info("{}: deploy waits for the delete in progress", id);
    entry.next = std::move(spec);
    return;
  }
  spdlog::warn("{}: refusing deploy: {}", id, kAlreadyDeployed);
  report(spec, status::kFailed, std::string(kAlreadyDeployed));
}

void InstanceSupervisor::remove(const std::string& job_name, int instance) {
  std::string id = InstanceSpec::makeTaskId(job_name, instance);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    spdlog::info("{}: delete of an instance this worker does not run; reporting {}", id,
                 status::kUndeployed);
    report_(StatusReport{job_name, instance, std::string(status::kUndeployed), ""});
    return;
  }
  Entry& entry = it->second;
  if (entry.remove_requested) {
    spdlog::info("{}: delete already in progress{}", id,
                 entry.next ? "; cancelling the deploy that waited for it" : "");
    entry.next.reset();
    return;
  }
  spdlog::info("{}: deleting", id);
  entry.remove_requested = true;
  // A launching instance is destroyed by `onLaunched` once the runtime has it.
  if (entry.state == State::kRunning) startDestroy(id);
}

std::vector<InstanceSpec> InstanceSupervisor::running() const {
  std::vector<InstanceSpec> specs;
  for (const auto& [id, entry] : entries_) {
    if (entry.state == State::kRunning && !entry.remove_requested) specs.push_back(entry.spec);
  }
  return specs;
}

std::vector<InstanceSpec> InstanceSupervisor::held() const {
  std::vector<InstanceSpec> specs;
  for (const auto& [id, entry] : entries_) {
    if (entry.state != State::kDestroying && !entry.remove_requested) specs.push_back(entry.spec);
  }
  return specs;
}

InstanceSupervisor::Entry* InstanceSupervisor::find(const std::string& task_id,
                                                    uint64_t generation) {
  auto it = entries_.find(task_id);
  return it != entries_.end() && it->second.generation == generation ? &it->second : nullptr;
}

// Callbacks may run inside the runtime call, and reports may call back into the supervisor, so no
// `Entry*` is used across either: entries are looked up again by (task id, generation).

void InstanceSupervisor::launch(InstanceSpec spec) {
  std::string id = spec.taskId();
  uint64_t generation = ++generations_;
  spdlog::info("{}: launching {} image {}", id, spec.virtualization, spec.image);
  InstanceSpec for_runtime = spec;  // the entry may be gone before `launch` returns
  entries_.insert_or_assign(id, Entry{.spec = std::move(spec), .generation = generation});
  if (network_ == nullptr) {
    for_runtime.clearNetwork();
    runtime_.launch(for_runtime, [this, id, generation](Result<LaunchResult> result) {
      onLaunched(id, generation, std::move(result));
    });
    return;
  }
  network_->attach(for_runtime, [this, id, generation](Result<NetworkAttachment> attached) {
    onAttached(id, generation, std::move(attached));
  });
}

void InstanceSupervisor::onAttached(const std::string& task_id, uint64_t generation,
                                    Result<NetworkAttachment> attached) {
  Entry* entry = find(task_id, generation);
  if (entry == nullptr) return;
  if (!attached) {
    if (entry->remove_requested) return finish(task_id, status::kUndeployed, "");
    spdlog::warn("{}: network: {}", task_id, attached.error().message);
    return finish(task_id, status::kFailed, "network: " + attached.error().message);
  }
  if (entry->remove_requested) return finish(task_id, status::kUndeployed, "");
  entry->spec.netns_path = attached->netns_path;
  entry->spec.nsip = attached->nsip;
  entry->spec.gateway = attached->gateway;
  entry->spec.mtu = attached->mtu;
  InstanceSpec for_runtime = entry->spec;
  runtime_.launch(for_runtime, [this, task_id, generation](Result<LaunchResult> result) {
    onLaunched(task_id, generation, std::move(result));
  });
}

void InstanceSupervisor::onLaunched(const std::string& task_id, uint64_t generation,
                                    Result<LaunchResult> result) {
  Entry* entry = find(task_id, generation);
  if (entry == nullptr) return;
  if (!result || *result == LaunchResult::kNotSupported) {
    std::string detail = result ? fmt::format("virtualization '{}' is not supported by this worker",
                                              entry->spec.virtualization)
                                : result.error().message;
    if (entry->remove_requested) {
      finish(task_id, status::kUndeployed, "");
    } else {
      spdlog::warn("{}: launch failed: {}", task_id, detail);
      finish(task_id, status::kFailed, std::move(detail));
    }
    return;
  }
  // kAlreadyLaunched: the runtime runs this task id without our knowing (not recovered). It is
  // adopted so that a later delete reaches it, but the deploy itself is refused.
  bool adopted = *result == LaunchResult::kAlreadyLaunched;
  // An exit arriving inside `watch` is held by `onExit` until ACTIVE is out.
  watch(task_id, generation);
  entry = find(task_id, generation);
  if (entry == nullptr) return;
  if (!entry->remove_requested) {
    if (adopted) {
      report(entry->spec, status::kFailed, std::string(kAlreadyDeployed));
    } else {
      report(entry->spec, status::kActive, "");
    }
    entry = find(task_id, generation);
    if (entry == nullptr) return;
  }
  entry->state = State::kRunning;
  if (entry->remove_requested) {
    startDestroy(task_id);
  } else if (entry->exit) {
    ended(task_id, *entry->exit);
  }
}

void InstanceSupervisor::watch(const std::string& task_id, uint64_t generation) {
  runtime_.wait(task_id,
                [this, task_id, generation](ExitInfo info) { onExit(task_id, generation, info); });
}

void InstanceSupervisor::onExit(const std::string& task_id, uint64_t generation,
                                const ExitInfo& info) {
  Entry* entry = find(task_id, generation);
  if (entry == nullptr) return;
  // Being deleted: only UNDEPLOYED is reported. Still launching: reported after ACTIVE.
  if (entry->remove_requested || entry->state == State::kLaunching) {
    entry->exit = info;
    return;
  }
  ended(task_id, info);
}

void InstanceSupervisor::ended(const std::string& task_id, ExitInfo info) {
  bool completed = entries_.at(task_id).spec.one_shot && info.exit_code == 0;
  spdlog::info("{}: ended: {}", task_id, exitDetail(info));
  finish(task_id, completed ? status::kCompleted : status::kDead,
         completed ? "" : exitDetail(info));
}

void InstanceSupervisor::startDestroy(const std::string& task_id) {
  Entry& entry = entries_.at(task_id);
  entry.state = State::kDestroying;
  uint64_t generation = entry.generation;
  runtime_.destroy(task_id, [this, task_id, generation](const Status& result) {
    onDestroyed(task_id, generation, result);
  });
}

void InstanceSupervisor::onDestroyed(const std::string& task_id, uint64_t generation,
                                     const Status& result) {
  Entry* entry = find(task_id, generation);
  if (entry == nullptr) return;
  bool gone = result || result.error().code == ErrorCode::kNotFound || entry->exit.has_value();
  if (!gone) {
    // Nothing is reported: the instance still runs and still shows in resource reports, so the
    // cluster asks again.
    spdlog::error("{}: delete failed, the instance keeps running: {}", task_id,
                  result.error().message);
    entry->state = State::kRunning;
    entry->remove_requested = false;
    std::optional<InstanceSpec> next = std::move(entry->next);
    entry->next.reset();
    if (next) report(*next, status::kFailed, std::string(kAlreadyDeployed));
    return;
  }
  finish(task_id, status::kUndeployed, "");
}

void InstanceSupervisor::finish(const std::string& task_id, std::string_view status,
                                std::string detail) {
  auto it = entries_.find(task_id);
  InstanceSpec spec = std::move(it->second.spec);
  std::optional<InstanceSpec> next = std::move(it->second.next);
  entries_.erase(it);
  // Before a waiting deploy of the same task id attaches again.
  if (network_) network_->detach(task_id);
  report(spec, status, std::move(detail));
  if (next) deploy(std::move(*next));
}

void InstanceSupervisor::report(const InstanceSpec& spec, std::string_view status,
                                std::string detail) {
  spdlog::info("{}: reporting {}{}{}", spec.taskId(), status, detail.empty() ? "" : ": ", detail);
  report_(StatusReport{spec.job_name, spec.instance, std::string(status), std::move(detail)});
}

}  // namespace oak::worker
