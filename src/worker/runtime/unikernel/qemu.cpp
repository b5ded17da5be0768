#include "worker/runtime/unikernel/qemu.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/json.h"
#include "worker/runtime/unikernel/kernel_store.h"

namespace oak::worker::unikernel {
namespace {

std::string binaryName(const std::string& arch) {
  if (arch == "amd64") return "qemu-system-x86_64";
  if (arch == "arm64") return "qemu-system-aarch64";
  if (arch == "386") return "qemu-system-i386";
  return "qemu-system-" + arch;
}

std::string findInPath(const std::string& name, std::string path) {
  if (path.empty()) {
    const char* env = std::getenv("PATH");
    path = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

std::string firstLine(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  if (std::fgets(buf, sizeof buf, p) != nullptr) out = buf;
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

std::optional<std::array<uint8_t, 4>> parseIpv4(const std::string& text) {
  std::array<uint8_t, 4> octets{};
  if (::inet_pton(AF_INET, text.c_str(), octets.data()) != 1) return std::nullopt;
  return octets;
}

Error invalidField(std::string_view field, const std::string& value, std::string_view expected) {
  return makeError(ErrorCode::kInvalidArgument,
                   fmt::format("{}: '{}' is not {}", field, value, expected));
}

}  // namespace

Result<GuestNic> guestNic(const std::string& nsip, const std::string& gateway, int mtu) {
  constexpr std::string_view kCidr = "an IPv4 address with a prefix length of 1..30";
  const size_t slash = nsip.find('/');
  if (slash == std::string::npos) return invalidField("nsip", nsip, kCidr);
  const auto address = parseIpv4(nsip.substr(0, slash));
  int length = 0;
  const char* first = nsip.data() + slash + 1;
  const char* last = nsip.data() + nsip.size();
  auto [end, ec] = std::from_chars(first, last, length);
  if (!address || ec != std::errc() || end != last || first == last || length < 1 || length > 30) {
    return invalidField("nsip", nsip, kCidr);
  }
  if (!parseIpv4(gateway)) return invalidField("gateway", gateway, "an IPv4 address");
  const uint32_t mask = ~uint32_t{0} << (32 - length);
  GuestNic nic;
  nic.mac = fmt::format("02:6f:{:02x}:{:02x}:{:02x}:{:02x}", (*address)[0], (*address)[1],
                        (*address)[2], (*address)[3]);
  nic.address = nsip.substr(0, slash);
  nic.gateway = gateway;
  nic.netmask =
      fmt::format("{}.{}.{}.{}", mask >> 24, (mask >> 16) & 0xff, (mask >> 8) & 0xff, mask & 0xff);
  nic.mtu = mtu;
  return nic;
}

QemuHost probeQemu(const std::string& arch, const std::string& search_path) {
  QemuHost host;
  host.arch = arch;
  std::string binary = findInPath(binaryName(arch), search_path);
  if (binary.empty()) return host;
  host.version = firstLine("'" + binary + "' --version 2>/dev/null");
  if (host.version.find("QEMU") == std::string::npos) return host;
  host.binary = binary;
  if (arch == hostArch()) {
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    host.kvm = fd >= 0;
    if (fd >= 0) ::close(fd);
  }
  return host;
}

std::vector<std::string> qemuCommand(const QemuHost& host, const VmConfig& vm) {
  std::vector<std::string> c = {host.binary, "-name", vm.name};
  if (host.arch == "amd64" || host.arch == "386") {
    c.insert(c.end(), {"-M", "microvm"});
  } else if (host.arch == "arm64") {
    c.insert(c.end(), {"-M", "virt", "-cpu", host.kvm ? "host" : "cortex-a57"});
  }
  c.insert(c.end(), {"-accel", host.kvm ? "kvm" : "tcg"});
  c.insert(c.end(), {"-nodefaults", "-no-user-config", "-nographic"});
  c.insert(c.end(), {"-m", std::to_string(std::max<int64_t>(16, vm.memory_mb))});
  c.insert(c.end(), {"-smp", std::to_string(std::max(1, static_cast<int>(std::ceil(vm.vcpus))))});
  c.insert(c.end(), {"-kernel", vm.kernel});
  // Unikraft reads its libraries' parameters before `--`, the application's arguments after it.
  std::string append;
  if (vm.nic) {
    append = fmt::format("netdev.ipv4_addr={} netdev.ipv4_gw_addr={} netdev.ipv4_subnet_mask={} ",
                         vm.nic->address, vm.nic->gateway, vm.nic->netmask);
  }
  if (vm.nic || !vm.args.empty()) {
    append += "--";
    for (const auto& a : vm.args) append += " " + a;
    c.insert(c.end(), {"-append", append});
  }
  c.insert(c.end(), {"-chardev", "file,id=console,path=" + vm.console + ",append=on", "-serial",
                     "chardev:console"});
  if (host.arch == "amd64" || host.arch == "386") {
    c.insert(c.end(), {"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"});
  }
  bool mmio = host.arch == "amd64" || host.arch == "386";
  for (size_t i = 0; i < vm.shares.size(); ++i) {
    std::string id = "share" + std::to_string(i);
    c.insert(c.end(), {"-fsdev", "local,security_model=passthrough,id=" + id +
                                     ",path=" + vm.shares[i].second});
    c.insert(c.end(), {"-device", fmt::format("{},fsdev={},mount_tag={}",
                                              mmio ? "virtio-9p-device" : "virtio-9p-pci", id,
                                              vm.shares[i].first)});
  }
  if (vm.nic) {
    // An existing TAP, so QEMU runs no scripts; its MTU is announced so that the guest never
    // sends frames the path would drop.
    c.insert(c.end(), {"-netdev",
                       fmt::format("tap,id=net0,ifname={},script=no,downscript=no", vm.nic->tap)});
    std::string device = fmt::format("{},netdev=net0,mac={}",
                                     mmio ? "virtio-net-device" : "virtio-net-pci", vm.nic->mac);
    if (vm.nic->mtu > 0) device += fmt::format(",host_mtu={}", vm.nic->mtu);
    c.insert(c.end(), {"-device", device});
  }
  c.insert(c.end(), {"-qmp", "unix:" + vm.qmp + ",server=on,wait=off"});
  c.insert(c.end(), {"-pidfile", vm.pidfile});
  return c;
}

int guestExitCode(int qemu_status) {
  if (qemu_status == 0) return 0;
  if ((qemu_status & 1) != 0) return qemu_status >> 1;
  return qemu_status;
}

Result<QmpClient> QmpClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
  auto p = std::filesystem::path(path);
  int dir = ::open(p.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("qmp: {}: {}", path, std::strerror(errno)));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string via = fmt::format("/proc/self/fd/{}/{}", dir, p.filename().string());
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", via.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int r = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(dir);
  if (r != 0) {
    ::close(fd);
    return makeError(ErrorCode::kUnavailable, fmt::format("qmp: {}: {}", path, std::strerror(err)));
  }
  QmpClient client(fd);
  auto deadline = Clock::now() + timeout;
  // The greeting, then capabilities negotiation.
  OAK_TRY(client.readReply(std::chrono::milliseconds(remainingMs(deadline))));
  OAK_TRY(client.execute("qmp_capabilities", std::chrono::milliseconds(remainingMs(deadline))));
  return client;
}

QmpClient::~QmpClient() {
  if (fd_ >= 0) ::close(fd_);
}

Result<boost::json::value> QmpClient::execute(const std::string& command,
                                              std::chrono::milliseconds timeout,
                                              const boost::json::object& arguments) {
  boost::json::object request{{"execute", command}};
  if (!arguments.empty()) request["arguments"] = arguments;
  std::string line = boost::json::serialize(request) + "\n";
  if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return makeError(ErrorCode::kUnavailable,
                     fmt::format("qmp: {}: {}", command, std::strerror(errno)));
  }
  auto deadline = Clock::now() + timeout;
  while (true) {
    OAK_ASSIGN_OR_RETURN(auto reply, readReply(std::chrono::milliseconds(remainingMs(deadline))));
    if (reply.contains("event")) continue;
    if (auto* err = json::findObject(reply, "error")) {
      return makeError(
          ErrorCode::kUnavailable,
          fmt::format("qmp: {}: {}", command, json::getString(*err, "desc").value_or("error")));
    }
    if (const auto* ret = reply.if_contains("return")) return *ret;
    return boost::json::value{};
  }
}

Result<boost::json::object> QmpClient::readReply(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      auto parsed = json::parse(line);
      if (parsed && parsed->is_object()) return parsed->as_object();
      continue;
    }
    pollfd pfd{fd_, POLLIN, 0};
    int r = ::poll(&pfd, 1, remainingMs(deadline));
    if (r == 0) return makeError(ErrorCode::kUnavailable, "qmp: no answer in time");
    if (r < 0 && errno == EINTR) continue;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return makeError(ErrorCode::kUnavailable, "qmp: connection closed");
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace oak::worker::unikernel
