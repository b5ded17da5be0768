// UnikernelRuntime with real QEMU: kernels built by the test (a multiboot image that prints to the
// serial port and ends through isa-debug-exit, or stays up), packed as kernel bundles and served
// over HTTP on loopback. Covers logs, exit codes, destroy, restart of the worker, and the bundles
// and URLs a user can get wrong. Nothing of an instance may stay on disk after it ended.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "http/event_loop.h"
#include "loop_thread.h"
#include "silent_server.h"
#include "temp_dir.h"
#include "unikernel_bundles.h"
#include "wait.h"
#include "worker/net/netlink_host_network.h"
#include "worker/net/netns.h"
#include "worker/runtime/unikernel/kernel_store.h"
#include "worker/runtime/unikernel/qemu.h"
#include "worker/runtime/unikernel/unikernel_runtime.h"

namespace oak::worker::unikernel {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using testing::packTarGz;
using testing::tarDevice;
using testing::tarFile;
using testing::tarFolder;
using testing::tarHardlink;
using testing::tarSymlink;

// Kernels and bundles for the whole binary, and the server that offers them.
struct Shared {
  testing::TempDir dir;
  std::unique_ptr<testing::FileServer> server;
  std::string error;

  std::string url(const std::string& name) const { return server->url(name); }

  std::string bundle(const std::string& message, std::optional<int> exit_code) {
    auto kernel = testing::buildTestKernel(dir.path().string(), message, exit_code);
    if (!kernel) error = kernel.error().message;
    return testing::kernelBundle(kernel ? *kernel : "");
  }

  Shared() {
    std::map<std::string, std::string> files;
    files["exit0.tar.gz"] = bundle("hello from the guest\\n", 0);
    files["exit5.tar.gz"] = bundle("hello from the guest\\n", 5);
    files["exit7.tar.gz"] = bundle("hello from the guest\\n", 7);
    files["stays.tar.gz"] = bundle("up and running\\nsecond line\\n", std::nullopt);
    files["nokernel.tar.gz"] = packTarGz({tarFile("vmlinuz", "not it")});
    files["garbage.tar.gz"] = packTarGz({tarFile("kernel", std::string(4096, 'x'))});
    files["notgzip.tar.gz"] = "this is not an archive at all";
    files["absolute.tar.gz"] = packTarGz({tarFile("/etc/evil", "x")});
    files["dotdot.tar.gz"] = packTarGz({tarFile("files1/../../evil", "x")});
    files["symlink.tar.gz"] = packTarGz(
        {tarFile("kernel", "k"), tarFolder("files1"), tarSymlink("files1/etc", "../../../etc")});
    files["through.tar.gz"] = packTarGz(
        {tarFolder("files1"), tarSymlink("files1/up", ".."), tarFile("files1/up/kernel", "x")});
    files["hardlink.tar.gz"] = packTarGz({tarHardlink("kernel", "/etc/passwd")});
    files["device.tar.gz"] = packTarGz({tarFile("kernel", "k"), tarDevice("null")});
    files["oversize.tar.gz"] = packTarGz({tarFile("kernel", std::string(2 * 1024 * 1024, '\0'))});
    auto started = testing::FileServer::start(std::move(files));
    if (!started) {
      error = started.error().message;
      return;
    }
    server = std::move(*started);
  }
};

Shared& shared() {
  static Shared* s = new Shared;  // lives until exit: its server serves every test
  return *s;
}

class UnikernelRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(shared().error.empty()) << shared().error;
    loop_thread_.start();
    makeRuntime();
    ASSERT_TRUE(runtime_->available()) << "qemu-system-x86_64 not found: run ./scripts/deps.sh";
  }

  void TearDown() override {
    onLoop([&] {
      runtime_.reset();
      return 0;
    });
    loop_thread_.stop();
    // Whatever a test left running must not outlive it.
    for (int pid : pids_) ::kill(-pid, SIGKILL);
  }

  void makeRuntime(bool use_kvm = true) {
    UnikernelOptions options;
    options.use_kvm = use_kvm;
    options.run_root = dir_.file("run");
    options.cache_dir = dir_.file("cache");
    options.log_root = dir_.file("logs");
    options.extract_limits.max_bytes = 1024 * 1024;
    options.stop_grace = 1s;
    options.poll_interval = 20ms;
    runtime_ = onLoop([&] { return std::make_unique<UnikernelRuntime>(loop_, options); });
  }

  template <typename Fn>
  decltype(std::declval<Fn>()()) onLoop(Fn fn) {
    return loop_thread_.onLoop(std::move(fn));
  }
  template <typename T, typename Start>
  T await(Start start, std::chrono::seconds timeout = 30s) {
    return loop_thread_.await<T>(std::move(start), timeout);
  }

  Result<LaunchResult> launch(const InstanceSpec& spec) {
    auto r = await<Result<LaunchResult>>([&](auto cb) { runtime_->launch(spec, cb); });
    if (r) {
      auto state = readFile(dir_.file("run/" + spec.taskId() + "/state.json"));
      auto pos = state.find("\"pid\":");
      if (pos != std::string::npos) pids_.push_back(std::stoi(state.substr(pos + 6)));
    }
    return r;
  }
  ExitInfo waitExit(const std::string& id) {
    return await<ExitInfo>([&](auto cb) { runtime_->wait(id, cb); });
  }
  Status destroy(const std::string& id) {
    return await<Status>([&](auto cb) { runtime_->destroy(id, cb); });
  }
  std::vector<std::string> listed() {
    return onLoop([&] { return runtime_->list(); });
  }

  InstanceSpec spec(const std::string& name, const std::string& file) {
    InstanceSpec s;
    s.job_name = "app.test." + name + ".test";
    s.virtualization = "unikernel";
    s.image = shared().url(file);
    s.arch = {"amd64"};
    s.memory_mb = 32;
    s.vcpus = 1;
    return s;
  }

  std::string log(const InstanceSpec& s) {
    return readFile(dir_.file("logs/" + s.taskId() + "/stdout.log"));
  }
  bool runDirGone(const InstanceSpec& s) { return !fs::exists(dir_.file("run/" + s.taskId())); }

  // A launch that must fail: its error, and nothing left of the instance or the download.
  Error failedLaunch(const InstanceSpec& s) {
    auto r = launch(s);
    EXPECT_FALSE(r) << s.image << " launched";
    EXPECT_TRUE(listed().empty());
    EXPECT_TRUE(runDirGone(s));
    std::error_code ec;
    for (const auto& url_dir : fs::directory_iterator(dir_.file("cache"), ec)) {
      EXPECT_TRUE(fs::exists(url_dir.path() / "current")) << "leftover " << url_dir.path();
      EXPECT_FALSE(fs::exists(url_dir.path() / "download")) << "leftover " << url_dir.path();
    }
    return r ? Error{} : r.error();
  }

  testing::TempDir dir_;
  testing::LoopThread loop_thread_;
  EventLoop& loop_ = loop_thread_.loop();
  std::unique_ptr<UnikernelRuntime> runtime_;
  std::vector<int> pids_;
};

TEST_F(UnikernelRuntimeTest, GuestPrintsToTheLogAndEndsWithItsExitCode) {
  auto ok = spec("ok", "exit0.tar.gz");
  ok.one_shot = true;
  auto bad = spec("bad", "exit5.tar.gz");
  auto launched = launch(ok);
  ASSERT_TRUE(launched) << launched.error().message;
  EXPECT_EQ(*launched, LaunchResult::kSuccess);
  ASSERT_TRUE(launch(bad));
  auto ok_exit = waitExit(ok.taskId());
  auto bad_exit = waitExit(bad.taskId());
  EXPECT_EQ(ok_exit.exit_code, 0);
  EXPECT_EQ(ok_exit.reason, "");
  EXPECT_EQ(bad_exit.exit_code, 5);
  EXPECT_THAT(log(ok), HasSubstr("Z hello from the guest\n"));
  EXPECT_THAT(log(bad), HasSubstr("Z hello from the guest\n"));
  EXPECT_TRUE(runDirGone(ok));
  EXPECT_TRUE(runDirGone(bad));
  EXPECT_TRUE(listed().empty());
  auto destroyed = destroy(ok.taskId());
  ASSERT_FALSE(destroyed);
  EXPECT_EQ(destroyed.error().code, ErrorCode::kNotFound);
  // Other virtualizations are someone else's.
  auto docker = spec("docker", "exit0.tar.gz");
  docker.virtualization = "docker";
  auto refused = launch(docker);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, LaunchResult::kNotSupported);
}

TEST_F(UnikernelRuntimeTest, DestroyEndsALongRunningGuestAndRemovesItsRunDir) {
  auto s = spec("stays", "stays.tar.gz");
  ASSERT_TRUE(launch(s));
  EXPECT_THAT(listed(), ::testing::ElementsAre(s.taskId()));
  auto again = launch(s);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, LaunchResult::kAlreadyLaunched);
  EXPECT_TRUE(testing::waitUntil("console in the log", 10s, [&] {
    return log(s).find("Z second line\n") != std::string::npos;
  }));
  // The bundle's folder reached the instance as its own copy.
  EXPECT_EQ(readFile(dir_.file("run/" + s.taskId() + "/shares/fs1/hello.txt")),
            "shared with the guest\n");
  auto usage = await<Result<Usage>>([&](auto cb) { runtime_->usage(s.taskId(), cb); });
  ASSERT_TRUE(usage) << usage.error().message;
  EXPECT_GT(usage->memory_mb, 0);

  auto exit = std::async(std::launch::async, [&] { return waitExit(s.taskId()); });
  auto destroyed = destroy(s.taskId());
  ASSERT_TRUE(destroyed) << destroyed.error().message;
  EXPECT_EQ(exit.get().reason, "destroyed");
  EXPECT_TRUE(listed().empty());
  EXPECT_TRUE(runDirGone(s));
  for (int pid : pids_) EXPECT_NE(::kill(pid, 0), 0) << "QEMU wrapper " << pid << " still runs";
  // The log stays for the logs API.
  EXPECT_THAT(log(s), HasSubstr("up and running"));
}

// Boot to exit through the runtime, with KVM (when the host has it) and in software emulation.
TEST_F(UnikernelRuntimeTest, RunsWithAndWithoutKvm) {
  for (bool kvm : {true, false}) {
    onLoop([&] {
      runtime_.reset();
      return 0;
    });
    makeRuntime(kvm);
    bool accelerated = onLoop([&] { return runtime_->host().kvm; });
    EXPECT_EQ(accelerated, kvm && ::access("/dev/kvm", R_OK | W_OK) == 0);
    auto s = spec(kvm ? "kvm" : "tcg", "exit7.tar.gz");
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(launch(s));
    EXPECT_EQ(waitExit(s.taskId()).exit_code, 7);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    RecordProperty(kvm ? "kvm_launch_to_exit_ms" : "tcg_launch_to_exit_ms", static_cast<int>(ms));
    std::cout << (accelerated ? "KVM" : "emulation") << ": launch to exit " << ms << " ms\n";
    EXPECT_THAT(log(s), HasSubstr("hello from the guest"));
  }
}

TEST_F(UnikernelRuntimeTest, PicksTheKernelOfThisArchitecture) {
  auto s = spec("multi", "");
  s.image = shared().url("exit5.tar.gz") + "," + shared().url("exit7.tar.gz");
  s.arch = {"arm64", "amd64"};
  ASSERT_TRUE(launch(s));
  EXPECT_EQ(waitExit(s.taskId()).exit_code, 7);

  auto foreign = spec("foreign", "exit0.tar.gz");
  foreign.arch = {"arm64", "riscv64"};
  auto e = failedLaunch(foreign);
  EXPECT_EQ(e.code, ErrorCode::kUnprocessable);
  EXPECT_EQ(e.message, "arch: no kernel for amd64 (offered: arm64, riscv64)");

  auto short_list = spec("short", "exit0.tar.gz");
  short_list.arch = {"arm64", "amd64"};
  EXPECT_THAT(failedLaunch(short_list).message,
              HasSubstr("code: no kernel URL for arch amd64 (position 2 of 1)"));
}

TEST_F(UnikernelRuntimeTest, BadUrlsAndBundlesFailWithPreciseErrors) {
  auto missing = failedLaunch(spec("missing", "nope.tar.gz"));
  EXPECT_EQ(missing.code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.message, HasSubstr("nope.tar.gz: HTTP 404"));
  auto unreachable = spec("unreachable", "");
  unreachable.image = "http://127.0.0.1:1/kernel.tar.gz";
  EXPECT_EQ(failedLaunch(unreachable).code, ErrorCode::kUnavailable);

  EXPECT_THAT(failedLaunch(spec("nokernel", "nokernel.tar.gz")).message,
              HasSubstr("the archive has no file 'kernel' at its top level"));
  EXPECT_THAT(failedLaunch(spec("notgzip", "notgzip.tar.gz")).message,
              HasSubstr("not a tar archive"));
  auto garbage = failedLaunch(spec("garbage", "garbage.tar.gz"));
  EXPECT_THAT(garbage.message, HasSubstr("qemu failed to start: "));
  EXPECT_THAT(garbage.message, HasSubstr("kernel"));
}

TEST(KernelStoreTest, ADownloadThatHangsIsGivenUpWhenCancelled) {
  testing::SilentServer server;
  testing::TempDir dir;
  std::atomic<bool> stopping{false};
  unikernel::KernelStore store((dir.path() / "cache").string(), {},
                               [&] { return stopping.load(); });
  std::thread stopper([&] {
    EXPECT_TRUE(testing::waitUntil("the download reached the server", 10s,
                                   [&] { return server.connections() > 0; }));
    stopping = true;
  });
  auto started = std::chrono::steady_clock::now();
  auto fetched = store.fetch(fmt::format("http://127.0.0.1:{}/k.tar.gz", server.port()));
  stopper.join();
  ASSERT_FALSE(fetched);
  EXPECT_THAT(fetched.error().message, HasSubstr("cancelled"));
  // Without the flag it would wait for the low-speed timeout (30 s).
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "cache", ec)) << "nothing stays in the cache";
}

TEST_F(UnikernelRuntimeTest, HostileArchivesAreRejected) {
  struct Case {
    std::string file;
    std::string message;
  };
  std::vector<Case> cases = {
      {"absolute.tar.gz", "archive: /etc/evil: absolute path"},
      {"dotdot.tar.gz", "archive: files1/../../evil: path leaves the archive ('..')"},
      {"symlink.tar.gz", "archive: files1/etc: symlink to '../../../etc' leaves the folder"},
      {"through.tar.gz", "archive: files1/up/kernel: path goes through a symlink"},
      {"hardlink.tar.gz", "archive: kernel: hard link to '/etc/passwd'"},
      {"device.tar.gz", "archive: null: device files are not allowed"},
      {"oversize.tar.gz", "archive: kernel: archive unpacks to more than 1048576 bytes"},
  };
  for (const auto& c : cases) {
    auto s = spec("hostile", c.file);
    auto e = failedLaunch(s);
    EXPECT_EQ(e.code, ErrorCode::kUnprocessable) << c.file;
    EXPECT_THAT(e.message, HasSubstr(c.message)) << c.file;
    EXPECT_THAT(e.message, HasSubstr(c.file)) << "the URL is named";
  }
  EXPECT_FALSE(fs::exists(dir_.file("etc")));
  EXPECT_FALSE(fs::exists(dir_.file("evil")));
}

TEST_F(UnikernelRuntimeTest, RestartedWorkerReadoptsRunningGuests) {
  auto running = spec("survivor", "stays.tar.gz");
  auto ending = spec("ender", "stays.tar.gz");
  ASSERT_TRUE(launch(running));
  ASSERT_TRUE(launch(ending));
  ASSERT_TRUE(testing::waitUntil("console in the log", 10s, [&] {
    return log(running).find("second line") != std::string::npos;
  }));
  std::string run = dir_.file("run/");
  std::string qemu_pid = readFile(run + running.taskId() + "/qemu.pid");

  // The worker goes away; the guests stay. One of them ends meanwhile (QEMU quits: status 0).
  onLoop([&] {
    runtime_.reset();
    return 0;
  });
  {
    auto qmp = QmpClient::connect(run + ending.taskId() + "/qmp.sock", 2s);
    ASSERT_TRUE(qmp) << qmp.error().message;
    (void)qmp->execute("quit", 2s);
  }
  ASSERT_TRUE(testing::waitUntil("the guest ended", 10s,
                                 [&] { return fs::exists(run + ending.taskId() + "/exit"); }));
  makeRuntime();
  auto recovered =
      await<Result<std::vector<InstanceSpec>>>([&](auto cb) { runtime_->recover(cb); });
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_THAT(*recovered, ::testing::UnorderedElementsAre(running, ending));
  EXPECT_THAT(listed(), ::testing::ElementsAre(running.taskId()));
  EXPECT_EQ(waitExit(ending.taskId()).exit_code, 0);
  EXPECT_TRUE(runDirGone(ending));
  EXPECT_EQ(readFile(run + running.taskId() + "/qemu.pid"), qemu_pid);
  // The console was not copied twice.
  std::string text = log(running);
  EXPECT_EQ(text.find("second line"), text.rfind("second line"));

  auto exit = std::async(std::launch::async, [&] { return waitExit(running.taskId()); });
  ASSERT_TRUE(destroy(running.taskId()));
  EXPECT_EQ(exit.get().reason, "destroyed");
  EXPECT_TRUE(runDirGone(running));
}

// Output of a shell command (`ip` checks only), with "exit N" appended when it failed.
std::string sh(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) out += "exit " + std::to_string(WEXITSTATUS(status));
  return out;
}

// The TAP an fd of `pid` is attached to, from /proc/<pid>/fdinfo ("" if none).
std::string tapOf(int pid) {
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator(fmt::format("/proc/{}/fdinfo", pid), ec)) {
    const std::string info = readFile(fd.path().string());
    const size_t at = info.find("iff:\t");
    if (at != std::string::npos) return info.substr(at + 5, info.find('\n', at) - at - 5);
  }
  return "";
}

// Namespaces of a worker host and of one instance, as the overlay makes them, under the test's
// folder; the bridge lives in the stand-in host namespace, never in the machine's.
struct GuestNetworkLab {
  std::string dir;
  std::string host;
  InstanceLink link;
  BridgeConfig bridge;
  NetlinkHostNetwork net;

  explicit GuestNetworkLab(std::string folder) : dir(std::move(folder)), host(dir + "/host") {
    link.netns_path = dir + "/guest";
    link.host_ifname = "oakguest";
    link.nsip = *net::Ipv4Address::parse("10.18.0.5");
    bridge.subnet4 = *net::Ipv4Prefix::parse("10.18.0.0/26");
    bridge.subnet6 = *net::Ipv6Prefix::parse("fc00::/120");
  }
  ~GuestNetworkLab() {
    (void)removeNetns(link.netns_path);
    (void)removeNetns(host);
    ::umount2(dir.c_str(), MNT_DETACH);  // createNetns made the folder a mount point
  }
  Status attachGuest() {
    OAK_TRY(createNetns(host));
    OAK_TRY(createNetns(link.netns_path));
    return runInNetns(host, [&]() -> Status {
      OAK_TRY(net.ensureBridge(bridge));
      return net.attachGuest(bridge, link);
    });
  }
  Status detach() {
    return runInNetns(host, [&] { return net.detachInstance(link); });
  }
  std::string inside(const std::string& command) const {
    return sh("nsenter --net=" + link.netns_path + " " + command + " 2>&1");
  }
};

TEST_F(UnikernelRuntimeTest, AGuestInANamespaceGetsAVirtioNicOnItsTap) {
  ASSERT_EQ(::geteuid(), 0u) << "network namespaces need root";
  GuestNetworkLab lab(dir_.file("netns"));
  Status attached = lab.attachGuest();
  ASSERT_TRUE(attached) << attached.error().message;
  auto s = spec("nic", "stays.tar.gz");
  s.netns_path = lab.link.netns_path;
  s.nsip = "10.18.0.5/26";
  s.gateway = "10.18.0.1";
  s.mtu = 1450;
  auto launched = launch(s);
  ASSERT_TRUE(launched) << launched.error().message;
  const std::string run = dir_.file("run/" + s.taskId());
  const int qemu = std::stoi(readFile(run + "/qemu.pid"));

  // QEMU runs in the instance's namespace and holds its TAP.
  struct stat ns_file {};
  struct stat qemu_ns {};
  ASSERT_EQ(::stat(lab.link.netns_path.c_str(), &ns_file), 0);
  ASSERT_EQ(::stat(fmt::format("/proc/{}/ns/net", qemu).c_str(), &qemu_ns), 0);
  EXPECT_EQ(ns_file.st_ino, qemu_ns.st_ino);
  EXPECT_EQ(tapOf(qemu), "tap0");
  EXPECT_THAT(lab.inside("ip link show tap0"), Not(HasSubstr("NO-CARRIER")));
  // The guest has a virtio NIC with the instance's MAC on that TAP, and its addresses.
  {
    auto qmp = QmpClient::connect(run + "/qmp.sock", 2s);
    ASSERT_TRUE(qmp) << qmp.error().message;
    auto network = qmp->execute("human-monitor-command", 2s, {{"command-line", "info network"}});
    ASSERT_TRUE(network) << network.error().message;
    ASSERT_TRUE(network->is_string());
    const std::string text(network->as_string());
    EXPECT_THAT(text, HasSubstr("model=virtio-net-device,macaddr=02:6f:0a:12:00:05"));
    EXPECT_THAT(text, HasSubstr("type=tap,ifname=tap0,script=no,downscript=no"));
  }
  const std::string cmdline = readFile(fmt::format("/proc/{}/cmdline", qemu));
  EXPECT_THAT(cmdline, HasSubstr("netdev.ipv4_addr=10.18.0.5 netdev.ipv4_gw_addr=10.18.0.1 "
                                 "netdev.ipv4_subnet_mask=255.255.255.192 --"));

  auto exit = std::async(std::launch::async, [&] { return waitExit(s.taskId()); });
  ASSERT_TRUE(destroy(s.taskId()));
  EXPECT_EQ(exit.get().reason, "destroyed");
  // The TAP stays for the network to remove: it belongs to the instance's network, not to QEMU.
  EXPECT_THAT(lab.inside("ip link show tap0"), HasSubstr("NO-CARRIER"));
  ASSERT_TRUE(lab.detach());
  EXPECT_THAT(lab.inside("ip link show tap0"), HasSubstr("exit"));
}

TEST_F(UnikernelRuntimeTest, AMissingNamespaceOrAddressFailsTheLaunch) {
  auto s = spec("nons", "stays.tar.gz");
  s.netns_path = dir_.file("no-such-netns");
  s.nsip = "10.18.0.5/26";
  s.gateway = "10.18.0.1";
  auto e = failedLaunch(s);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "netns_path: " + s.netns_path + ": No such file or directory");
  s.netns_path = "/proc/self/ns/net";  // a namespace, but the address is missing
  s.nsip.clear();
  EXPECT_THAT(failedLaunch(s).message, HasSubstr("nsip: '' is not an IPv4 address"));
  s.nsip = "10.18.0.5/26";
  s.netns_path = "/proc/self/ns/mnt";
  EXPECT_THAT(failedLaunch(s).message, HasSubstr("is not a network namespace"));
}

}  // namespace
}  // namespace oak::worker::unikernel
