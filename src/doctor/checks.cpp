#include "doctor/checks.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "common/files.h"
#include "http/client.h"
#include "net/ip.h"
#include "worker/net/netlink.h"
#include "worker/net/nft.h"

namespace oak::doctor {

namespace {

Finding ok(std::string check, std::string detail) {
  return {std::move(check), Outcome::kOk, std::move(detail), ""};
}
Finding problem(std::string check, std::string detail, std::string fix) {
  return {std::move(check), Outcome::kProblem, std::move(detail), std::move(fix)};
}
Finding warning(std::string check, std::string detail, std::string fix) {
  return {std::move(check), Outcome::kWarning, std::move(detail), std::move(fix)};
}

Finding checkPortFree(const std::string& name, uint16_t port, int type) {
  const char* proto = type == SOCK_STREAM ? "tcp" : "udp";
  int fd = ::socket(AF_INET6, type | SOCK_CLOEXEC, 0);
  int off = 0;
  ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_port = htons(port);
  any.sin6_addr = in6addr_any;
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof(any));
  int err = errno;
  ::close(fd);
  std::string what = fmt::format("{} {}/{}", name, port, proto);
  if (rc == 0) return ok(name, fmt::format("port {}/{} is free", port, proto));
  if (err == EADDRINUSE) {
    return problem(name, fmt::format("port {}/{} is in use", port, proto),
                   fmt::format("stop what listens there (ss -lnp 'sport = :{}') or choose "
                               "another port with the daemon's flag",
                               port));
  }
  return problem(name, fmt::format("cannot bind {}: {}", what, std::strerror(err)),
                 "run as root, or choose a port above 1023");
}

}  // namespace

Finding checkUnixSocket(const std::string& name, const std::string& path, const std::string& fix) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) {
    ::close(fd);
    return problem(name, fmt::format("socket path too long: {}", path), fix);
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  int err = errno;
  ::close(fd);
  if (rc == 0) return ok(name, fmt::format("answers at {}", path));
  return problem(name, fmt::format("nothing answers at {} ({})", path, std::strerror(err)), fix);
}

Finding checkExecutable(const std::string& name, const std::string& path, const std::string& fix) {
  if (::access(path.c_str(), X_OK) == 0) return ok(name, fmt::format("{} is installed", path));
  return problem(name, fmt::format("{} is missing", path), fix);
}

Finding checkTcpPortFree(const std::string& name, uint16_t port) {
  return checkPortFree(name, port, SOCK_STREAM);
}

Finding checkUdpPortFree(const std::string& name, uint16_t port) {
  return checkPortFree(name, port, SOCK_DGRAM);
}

Finding checkTunnelPort(uint16_t port) {
  Finding f = checkUdpPortFree("tunnel port", port);
  std::error_code ec;
  if (f.outcome == Outcome::kProblem && std::filesystem::exists("/sys/class/net/oakvx0", ec)) {
    // The kernel data plane's VXLAN device holds the port; no process shows in `ss -p`.
    f.fix =
        "the overlay's VXLAN device oakvx0 holds it: stop the worker that runs here, or, if none "
        "does, remove what a killed one left behind (ip link del oakvx0)";
  }
  return f;
}

Finding checkKvm(const std::string& dev_dir) {
  std::string path = dev_dir + "/kvm";
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return ok("kvm", fmt::format("{} is usable: unikernels run accelerated", path));
  }
  return warning("kvm",
                 fmt::format("{} cannot be opened ({}): unikernels run emulated (slower)", path,
                             std::strerror(errno)),
                 "enable virtualization in the firmware (or nested virtualization for a VM) and "
                 "load kvm_intel or kvm_amd; run the worker as root");
}

Finding checkTun(const std::string& dev_dir) {
  std::string path = dev_dir + "/net/tun";
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return ok("tun", fmt::format("{} is usable", path));
  }
  return problem(
      "tun",
      fmt::format("{} cannot be opened ({}): no overlay network", path, std::strerror(errno)),
      "modprobe tun (and run the worker as root); in a container, pass "
      "--device /dev/net/tun and CAP_NET_ADMIN");
}

Finding checkNetworkNamespaces() {
  pid_t pid = ::fork();
  if (pid == 0) _exit(::unshare(CLONE_NEWNET) == 0 ? 0 : 1);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    return problem("network namespaces", "cannot create a network namespace",
                   "run the worker as root (CAP_SYS_ADMIN and CAP_NET_ADMIN are needed)");
  }
  return ok("network namespaces", "instances can get their own network");
}

Finding checkKernelDataPlane() {
  enum Exit { kOk = 0, kNoNamespace = 1, kNoVxlan = 2, kNoNat = 3 };
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNET) != 0) _exit(kNoNamespace);
    auto sock = worker::nl::Socket::open();
    worker::nl::VxlanConfig vx{"oakdoctor0",         1, 4789, net::Ipv4Address(0x7f000001), 1450,
                               {0x02, 0, 0, 0, 0, 1}};
    if (!sock || !worker::nl::ensureVxlan(*sock, vx)) _exit(kNoVxlan);
    const char* nat =
        "table inet oakdoctor {\n"
        "  chain services {\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        "    ip daddr 10.30.0.1 dnat ip to numgen inc mod 2 map { 0 : 10.18.0.2, 1 : 10.18.0.3 }\n"
        "  }\n"
        "}\n";
    _exit(worker::runNft(nat, "nat") ? kOk : kNoNat);
  }
  int status = 0;
  const bool exited = pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status);
  const int code = exited ? WEXITSTATUS(status) : kNoNamespace;
  const char* name = "kernel data plane";
  const char* fix_kernel =
      "use a kernel with CONFIG_VXLAN and nftables NAT (nft_nat, nft_numgen, nf_conntrack), or "
      "run every worker with --overlay-data-plane userspace (slower)";
  switch (code) {
    case kOk:
      return ok(name, "VXLAN devices and nftables NAT work: packets stay in the kernel");
    case kNoVxlan:
      return problem(name, "cannot create a VXLAN device", fix_kernel);
    case kNoNat:
      return problem(name, "nftables NAT with numgen is refused", fix_kernel);
    default:
      return problem(name, "cannot create a network namespace to try it in",
                     "run as root (CAP_SYS_ADMIN and CAP_NET_ADMIN are needed)");
  }
}

Finding checkDataDir(const std::string& path) {
  if (auto s = files::ensureDirectory(path, 0700); !s) {
    return problem("data directory", s.error().message,
                   "choose a writable place with --data-dir, or run as root");
  }
  std::string probe = path + "/.doctor";
  if (auto s = files::writeAtomic(probe, "ok", 0600); !s) {
    return problem("data directory", s.error().message,
                   "make it writable for the daemon's user, or choose another --data-dir");
  }
  std::error_code ec;
  std::filesystem::remove(probe, ec);
  return ok("data directory", fmt::format("{} is writable", path));
}

Finding checkParent(const std::string& name, const std::string& url) {
  auto parsed = http::Url::parse(url);
  if (!parsed) return problem(name, parsed.error().message, "give a URL like http://host:port");
  http::ClientRequest req{http::Method::kGet, parsed->base_path + "/healthz", {}, ""};
  auto res = http::fetch(parsed->host, parsed->port, req, std::chrono::seconds(3));
  if (!res) {
    return problem(name, fmt::format("cannot reach {}: {}", url, res.error().message),
                   "check the address, that the daemon runs there, and firewalls in between");
  }
  if (res->status != 200) {
    return problem(name, fmt::format("{} answered {} to /healthz", url, res->status),
                   "is this the right URL (scheme, host, port)?");
  }
  for (const auto& [key, value] : res->headers) {
    if (strcasecmp(key.c_str(), "date") != 0) continue;
    tm t{};
    if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &t) == nullptr) break;
    auto theirs = std::chrono::system_clock::from_time_t(timegm(&t));
    auto skew = std::chrono::abs(std::chrono::system_clock::now() - theirs);
    if (skew > std::chrono::seconds(5)) {
      return problem(name,
                     fmt::format("reachable, but the clocks differ by {} s",
                                 std::chrono::duration_cast<std::chrono::seconds>(skew).count()),
                     "synchronise both clocks (timedatectl set-ntp true)");
    }
  }
  return ok(name, fmt::format("{} answers", url));
}

std::vector<Finding> runChecks(const DoctorOptions& o) {
  std::vector<Finding> out;
  bool root = o.role == "root" || o.role == "up";
  bool cluster = o.role == "cluster" || o.role == "up";
  bool worker = o.role == "worker" || o.role == "up";
  if (!o.data_dir.empty()) out.push_back(checkDataDir(o.data_dir));
  if (root) out.push_back(checkTcpPortFree("root API port", o.api_port ? o.api_port : 10000));
  if (cluster) {
    out.push_back(checkExecutable("mosquitto", "/usr/sbin/mosquitto", "apt-get install mosquitto"));
    if (o.role == "cluster") {
      out.push_back(checkTcpPortFree("cluster API port", o.api_port ? o.api_port : 10100));
    } else {
      out.push_back(checkTcpPortFree("cluster API port", 10100));
    }
    out.push_back(checkTcpPortFree("MQTT port", o.mqtt_port));
  }
  if (worker) {
    out.push_back(checkUnixSocket("containerd", o.containerd_socket,
                                  "apt-get install containerd runc && systemctl enable --now "
                                  "containerd (or give --containerd-socket)"));
    out.push_back(checkExecutable("runc", o.bin_dir + "/runc", "apt-get install runc"));
    if (o.overlay) {
      out.push_back(checkTun(o.dev_dir));
      out.push_back(checkNetworkNamespaces());
      out.push_back(checkTunnelPort(o.tunnel_port));
      if (o.data_plane == "kernel") out.push_back(checkKernelDataPlane());
    }
    if (o.unikernel) {
      out.push_back(checkExecutable("qemu", o.bin_dir + "/qemu-system-x86_64",
                                    "apt-get install qemu-system-x86"));
      out.push_back(checkKvm(o.dev_dir));
    }
  }
  if (!o.parent_url.empty()) {
    out.push_back(checkParent(o.role == "worker" ? "cluster" : "root", o.parent_url));
  }
  return out;
}

std::string render(const std::vector<Finding>& findings, bool color) {
  std::string text;
  size_t width = 0;
  for (const auto& f : findings) width = std::max(width, f.check.size());
  int problems = 0, warnings = 0;
  for (const auto& f : findings) {
    const char* mark = f.outcome == Outcome::kOk        ? "ok  "
                       : f.outcome == Outcome::kWarning ? "warn"
                                                        : "FAIL";
    const char* on = !color                           ? ""
                     : f.outcome == Outcome::kOk      ? "\033[32m"
                     : f.outcome == Outcome::kWarning ? "\033[33m"
                                                      : "\033[31m";
    text += fmt::format("  {}{}{}  {:<{}}  {}\n", on, mark, color ? "\033[0m" : "", f.check, width,
                        f.detail);
    if (!f.fix.empty()) text += fmt::format("        {:<{}}  fix: {}\n", "", width, f.fix);
    problems += f.outcome == Outcome::kProblem;
    warnings += f.outcome == Outcome::kWarning;
  }
  text += problems == 0
              ? fmt::format("all good ({} warning{})\n", warnings, warnings == 1 ? "" : "s")
              : fmt::format("{} problem{} to fix\n", problems, problems == 1 ? "" : "s");
  return text;
}

int exitCode(const std::vector<Finding>& findings) {
  for (const auto& f : findings) {
    if (f.outcome == Outcome::kProblem) return 1;
  }
  return 0;
}

}  // namespace oak::doctor
