#pragma once
// The calls a fake received, in order, and failures injected for its next calls. Not
// synchronized: the fake holds its own lock around it.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace oak::worker {

class FakeCallLog {
 public:
  // Records `call`; returns the failure injected for `method`, if any (it is used up).
  Status record(std::string call, const std::string& method) {
    calls_.push_back(std::move(call));
    auto failure = failures_.find(method);
    if (failure == failures_.end()) return {};
    Error error = std::move(failure->second);
    failures_.erase(failure);
    return error;
  }
  void failNext(const std::string& method, Error error) { failures_[method] = std::move(error); }
  const std::vector<std::string>& calls() const { return calls_; }

 private:
  std::vector<std::string> calls_;
  std::map<std::string, Error> failures_;
};

}  // namespace oak::worker
