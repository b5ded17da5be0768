#pragma once
// One runtime made of several (containers, unikernels): a launch is offered to each available
// runtime in order until one does not answer kNotSupported; every other call goes to the runtime
// that launched (or recovered) the task id.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "worker/runtime/runtime.h"

namespace oak::worker {

class ComposingRuntime final : public Runtime {
 public:
  explicit ComposingRuntime(std::vector<std::unique_ptr<Runtime>> runtimes);

  // Names of the available runtimes, in order: the worker's "technology" list.
  std::vector<std::string> runtimes() const;
  // The capabilities of the available runtimes that have any, by runtime name.
  std::map<std::string, std::map<std::string, std::string>> capabilitiesByRuntime() const;

  std::string name() const override { return "composing"; }
  // True when any runtime is.
  bool available() const override;
  // Recovers every available runtime. One that fails is logged and contributes nothing, so that
  // a broken unikernel set-up cannot keep the containers from being re-attached.
  void recover(std::function<void(Result<std::vector<InstanceSpec>>)> done) override;
  // kAlreadyLaunched when any runtime runs the task id; kNotSupported when no available runtime
  // takes the virtualization.
  void launch(const InstanceSpec& spec, std::function<void(Result<LaunchResult>)> done) override;
  void wait(const std::string& task_id, std::function<void(ExitInfo)> on_exit) override;
  void destroy(const std::string& task_id, std::function<void(Status)> done) override;
  void usage(const std::string& task_id, std::function<void(Result<Usage>)> done) override;
  std::vector<std::string> list() const override;
  void onProgress(ProgressListener listener) override;

 private:
  Runtime* owner(const std::string& task_id) const;
  Runtime* runner(const std::string& task_id) const;
  void forget(const std::string& task_id, Runtime* runtime);
  void launchFrom(size_t index, const InstanceSpec& spec,
                  std::function<void(Result<LaunchResult>)> done);

  std::vector<std::unique_ptr<Runtime>> runtimes_;
  // Who launched each task id, kept until the instance has ended and been waited for, so that a
  // wait after an early exit still reaches the runtime that holds the exit.
  std::map<std::string, Runtime*> owners_;
};

}  // namespace oak::worker
