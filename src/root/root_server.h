#pragma once
// The root orchestrator as one object: store, accounts, applications, scheduler, address manager
// and the REST API on an event loop. `oakestra root` runs one; tests start one in-process or run
// the binary.

#include <memory>

#include "auth/password.h"
#include "common/clock.h"
#include "common/result.h"
#include "http/event_loop.h"
#include "logs/log_buffer.h"
#include "root/options.h"

namespace oak::root {

class RootServer {
 public:
  struct Deps {
    const Clock* clock = &SystemClock::instance();
    auth::PasswordCost password_cost = auth::PasswordCost::interactive();
    // The root's control-plane records (runRoot captures its own lines into it); null: the
    // server opens `<data dir>/logs/control.log` itself.
    std::shared_ptr<logs::LogBuffer> control_logs = nullptr;
  };
  static Result<std::unique_ptr<RootServer>> create(const RootOptions& options, EventLoop& loop,
                                                    Deps deps);
  ~RootServer();
  uint16_t port() const;
  void stop();

 private:
  struct Impl;
  explicit RootServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs `oakestra root` until SIGINT/SIGTERM. Returns the process exit code.
int runRoot(const RootOptions& options);

// The root's control-plane records: the newest `kControlLogRecords` in memory, all of them
// (rotated) in `<data dir>/logs/control.log`.
inline constexpr size_t kControlLogRecords = 50000;
Result<std::shared_ptr<logs::LogBuffer>> openControlLog(const std::string& data_dir);

}  // namespace oak::root
