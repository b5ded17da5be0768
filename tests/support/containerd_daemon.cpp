#include "containerd_daemon.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "common/files.h"

namespace oak::testing {
ContainerdDaemon::ContainerdDaemon() : binary_(findOnPath("containerd")) {
  socket_ = dir_.file("containerd.sock");
  // Only what a private instance needs: no CRI (it would want CNI and a cluster), and nothing
  // outside the temporary directory.
  std::string config =
      "version = 2\n"
      "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
      "[ttrpc]\n  address = \"" +
      dir_.file("containerd.ttrpc.sock") +
      "\"\n"
      "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"" +
      dir_.file("opt") + "\"\n";
  if (!files::writeAtomic(dir_.file("config.toml"), config)) return;
  start();
}

ContainerdDaemon::~ContainerdDaemon() {
  // Tasks left running would keep runc state under /run/containerd/runc/<namespace>, which all
  // containerd instances of the host share: remove them through the daemon while it runs, and
  // the namespace's (then empty) runc directory with them.
  if (process_ && process_->running()) {
    std::string ctr = "ctr -a '" + socket_ + "' ";
    std::string script = "for ns in $(" + ctr +
                         "namespaces ls -q); do "
                         "for t in $(" +
                         ctr + "-n $ns tasks ls -q); do " + ctr +
                         "-n $ns tasks kill -s KILL $t; "
                         "done; "
                         "for t in $(" +
                         ctr + "-n $ns tasks ls -q); do " + ctr +
                         "-n $ns tasks delete -f $t; "
                         "done; "
                         "for c in $(" +
                         ctr + "-n $ns containers ls -q); do " + ctr +
                         "-n $ns containers rm $c; "
                         "done; rmdir /run/containerd/runc/$ns; done >/dev/null 2>&1";
    std::system(script.c_str());
  }
  if (process_) process_->stop();
  // Shims that outlived everything hold mounts under the directory: kill them, unmount.
  std::system(("pkill -KILL -f -- '-address " + socket_ + "' >/dev/null 2>&1").c_str());
  std::system(("grep -o ' " + dir_.path().string() +
               "[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l >/dev/null 2>&1")
                  .c_str());
}

void ContainerdDaemon::start() {
  if (binary_.empty()) return;
  process_ = std::make_unique<Process>(
      binary_,
      std::vector<std::string>{"--config", dir_.file("config.toml"), "--root", dir_.file("root"),
                               "--state", dir_.file("state"), "--address", socket_},
      std::map<std::string, std::string>{}, dir_.file("containerd.log"));
}

::testing::AssertionResult ContainerdDaemon::waitReady(std::chrono::milliseconds timeout) {
  if (binary_.empty()) {
    return ::testing::AssertionFailure()
           << "containerd is not installed (./scripts/deps.sh installs it)";
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_ || !process_->running()) {
      return ::testing::AssertionFailure() << "containerd exited:\n" << log();
    }
    if (std::filesystem::is_socket(socket_)) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ::testing::AssertionFailure()
         << "no socket at " << socket_ << " after " << timeout.count() << " ms";
}

std::string ContainerdDaemon::log() const {
  return process_ ? process_->log() : std::string();
}

void ContainerdDaemon::stop() {
  if (process_) process_->stop();
  std::filesystem::remove(socket_);
}

void ContainerdDaemon::restart() {
  stop();
  start();
}

}  // namespace oak::testing
