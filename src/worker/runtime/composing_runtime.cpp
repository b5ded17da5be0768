#include "worker/runtime/composing_runtime.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace oak::worker {

ComposingRuntime::ComposingRuntime(std::vector<std::unique_ptr<Runtime>> runtimes)
    : runtimes_(std::move(runtimes)) {}

std::vector<std::string> ComposingRuntime::runtimes() const {
  std::vector<std::string> names;
  for (const auto& r : runtimes_) {
    if (r->available()) names.push_back(r->name());
  }
  return names;
}

std::map<std::string, std::map<std::string, std::string>> ComposingRuntime::capabilitiesByRuntime()
    const {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& r : runtimes_) {
    if (!r->available()) continue;
    if (auto c = r->capabilities(); !c.empty()) out[r->name()] = std::move(c);
  }
  return out;
}

void ComposingRuntime::onProgress(ProgressListener listener) {
  for (auto& r : runtimes_) r->onProgress(listener);
}

bool ComposingRuntime::available() const {
  return std::any_of(runtimes_.begin(), runtimes_.end(),
                     [](const auto& r) { return r->available(); });
}

void ComposingRuntime::recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) {
  // Every runtime answers once; the last answer completes the whole recovery.
  struct Gather {
    size_t pending = 0;
    std::vector<InstanceSpec> found;
    std::function<void(Result<std::vector<InstanceSpec>>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->done = std::move(done);
  std::vector<Runtime*> targets;
  for (const auto& r : runtimes_) {
    if (r->available()) targets.push_back(r.get());
  }
  gather->pending = targets.size();
  if (targets.empty()) {
    gather->done(std::vector<InstanceSpec>{});
    return;
  }
  for (Runtime* r : targets) {
    r->recover([this, gather, r](Result<std::vector<InstanceSpec>> result) {
      if (result) {
        for (auto& spec : *result) {
          owners_[spec.taskId()] = r;
          gather->found.push_back(std::move(spec));
        }
      } else {
        spdlog::error("{} runtime: recovery failed: {}", r->name(), result.error().message);
      }
      if (--gather->pending == 0) gather->done(std::move(gather->found));
    });
  }
}

void ComposingRuntime::launch(const InstanceSpec& spec,
                              std::function<void(Result<LaunchResult>)> done) {
  if (runner(spec.taskId()) != nullptr) {
    done(LaunchResult::kAlreadyLaunched);
    return;
  }
  launchFrom(0, spec, std::move(done));
}

void ComposingRuntime::launchFrom(size_t index, const InstanceSpec& spec,
                                  std::function<void(Result<LaunchResult>)> done) {
  while (index < runtimes_.size() && !runtimes_[index]->available()) ++index;
  if (index == runtimes_.size()) {
    done(LaunchResult::kNotSupported);
    return;
  }
  Runtime* runtime = runtimes_[index].get();
  // The spec is copied: the caller's may be gone when an asynchronous runtime answers.
  runtime->launch(spec, [this, runtime, index, spec,
                         done = std::move(done)](Result<LaunchResult> result) mutable {
    if (result && *result == LaunchResult::kNotSupported) {
      launchFrom(index + 1, spec, std::move(done));
      return;
    }
    if (result && *result == LaunchResult::kSuccess) owners_[spec.taskId()] = runtime;
    done(std::move(result));
  });
}

void ComposingRuntime::wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) {
  if (Runtime* r = owner(task_id)) {
    r->wait(task_id, [this, task_id, r, on_exit = std::move(on_exit)](ExitInfo info) {
      forget(task_id, r);
      on_exit(std::move(info));
    });
    return;
  }
  on_exit(ExitInfo{-1, "unknown instance"});
}

void ComposingRuntime::destroy(const std::string& task_id, std::function<void(Status)> done) {
  if (Runtime* r = owner(task_id)) {
    r->destroy(task_id, [this, task_id, r, done = std::move(done)](Status status) {
      forget(task_id, r);
      done(std::move(status));
    });
    return;
  }
  done(makeError(ErrorCode::kNotFound, fmt::format("{}: no such instance", task_id)));
}

void ComposingRuntime::usage(const std::string& task_id, std::function<void(Result<Usage>)> done) {
  if (Runtime* r = owner(task_id)) {
    r->usage(task_id, std::move(done));
    return;
  }
  done(makeError(ErrorCode::kNotFound, fmt::format("{}: no such instance", task_id)));
}

std::vector<std::string> ComposingRuntime::list() const {
  std::vector<std::string> ids;
  for (const auto& r : runtimes_) {
    auto part = r->list();
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

namespace {

bool runs(const Runtime& runtime, const std::string& task_id) {
  auto ids = runtime.list();
  return std::find(ids.begin(), ids.end(), task_id) != ids.end();
}

}  // namespace

Runtime* ComposingRuntime::owner(const std::string& task_id) const {
  auto it = owners_.find(task_id);
  return it != owners_.end() ? it->second : runner(task_id);
}

Runtime* ComposingRuntime::runner(const std::string& task_id) const {
  for (const auto& r : runtimes_) {
    if (runs(*r, task_id)) return r.get();
  }
  return nullptr;
}

void ComposingRuntime::forget(const std::string& task_id, Runtime* runtime) {
  auto it = owners_.find(task_id);
  if (it != owners_.end() && it->second == runtime && !runs(*runtime, task_id)) owners_.erase(it);
}

}  // namespace oak::worker
