#include "network_lab.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/unique_fd.h"

namespace oak::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kPrefix = "olab";
constexpr const char* kLockDir = "/run/oak-netlab";
constexpr auto kIpTimeout = 10s;
constexpr auto kLockTimeout = 30s;

Error failure(std::string message) {
  return makeError(ErrorCode::kUnavailable, std::move(message));
}

Result<std::string> ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = runCommand(argv, kIpTimeout);
  if (r.exit_code != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    return failure(fmt::format(
        "`{}` {}: {}", command,
        r.timed_out ? "timed out" : fmt::format("exited with {}", r.exit_code), r.output));
  }
  return r.output;
}

// `sysctl -w` in a network namespace ("" for the test's own): /proc/sys/net follows the caller's.
Status sysctl(const std::string& netns, std::vector<std::string> settings) {
  settings.insert(settings.begin(), {"sysctl", "-qw"});
  auto r = runCommand(settings, kIpTimeout, netns);
  if (r.exit_code != 0) {
    return failure(
        fmt::format("sysctl in {}: {}", netns.empty() ? "the test's namespace" : netns, r.output));
  }
  return {};
}

std::string lockFile(const std::string& tag) {
  return fmt::format("{}/{}.lock", kLockDir, tag);
}

// The tag of a lab object's name (olabTTTT...), or "" for names that are not ours.
std::string tagOf(std::string_view name) {
  static const std::regex kName("^olab([0-9a-f]{4})(h[0-9]+|-[0-9]+)?$");
  std::cmatch m;
  std::string s(name);
  return std::regex_match(s.c_str(), m, kName) ? m[1].str() : "";
}

// Interface names in the test namespace ("3: olab1a2bh0@if2: <...>" → "olab1a2bh0").
std::vector<std::string> linkNames(const std::string& ip_o_link) {
  std::vector<std::string> out;
  std::stringstream in(ip_o_link);
  for (std::string line; std::getline(in, line);) {
    size_t start = line.find(": ");
    if (start == std::string::npos) continue;
    start += 2;
    size_t end = line.find_first_of(":@", start);
    if (end != std::string::npos) out.push_back(line.substr(start, end - start));
  }
  return out;
}

std::vector<std::string> netnsNames(const std::string& ip_netns_list) {
  std::vector<std::string> out;
  std::stringstream in(ip_netns_list);
  for (std::string line; std::getline(in, line);) {
    std::string name = line.substr(0, line.find(' '));
    if (!name.empty()) out.push_back(name);
  }
  return out;
}

// Holds an exclusive flock on `path` (created if missing) until destroyed.
Result<UniqueFd> lockExclusive(const std::string& path, std::chrono::milliseconds timeout) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return failure(fmt::format("open {}: {}", path, std::strerror(errno)));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return failure(fmt::format("flock {}: {}", path, std::strerror(errno)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return failure(fmt::format("{} is held by another process for {} ms", path, timeout.count()));
    }
    std::this_thread::sleep_for(20ms);
  }
  return fd;
}

// A lab whose lock file is gone or no longer held: its process died without cleaning up.
bool stale(const std::string& tag) {
  UniqueFd fd(::open(lockFile(tag).c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return true;
  return ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0;  // released when `fd` closes
}

// Removes everything of labs whose process is gone. Runs under the global lock.
Status removeStaleLabs() {
  OAK_ASSIGN_OR_RETURN(auto links, ip({"-o", "link", "show"}));
  OAK_ASSIGN_OR_RETURN(auto netns, ip({"netns", "list"}));
  std::set<std::string> tags;
  std::vector<std::string> our_links, our_netns;
  for (const auto& name : linkNames(links)) {
    if (auto tag = tagOf(name); !tag.empty()) {
      tags.insert(tag);
      our_links.push_back(name);
    }
  }
  for (const auto& name : netnsNames(netns)) {
    if (auto tag = tagOf(name); !tag.empty()) {
      tags.insert(tag);
      our_netns.push_back(name);
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kLockDir, ec)) {
    if (entry.path().extension() == ".lock") tags.insert(entry.path().stem().string());
  }
  tags.erase("");
  for (const auto& tag : tags) {
    if (tagOf(std::string(kPrefix) + tag).empty() || !stale(tag)) continue;
    // Veths first (deleting one end deletes the pair, also when a process keeps the namespace of
    // the other end alive), then namespaces, then the bridge.
    for (const auto& name : our_links) {
      if (tagOf(name) == tag && name.size() > kPrefix.size() + 4) (void)ip({"link", "del", name});
    }
    for (const auto& name : our_netns) {
      if (tagOf(name) == tag) (void)ip({"netns", "del", name});
    }
    for (const auto& name : our_links) {
      if (tagOf(name) == tag && name.size() == kPrefix.size() + 4) (void)ip({"link", "del", name});
    }
    fs::remove(lockFile(tag), ec);
  }
  return {};
}

bool overlaps(uint32_t a, int a_len, uint32_t b, int b_len) {
  int len = std::min(a_len, b_len);
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return (a & mask) == (b & mask);
}

// Whether any address or route of the test namespace touches 172.31.k.0/24 or 2001:db8:k::/64.
Result<bool> subnetInUse(int k) {
  OAK_ASSIGN_OR_RETURN(auto v4, ip({"-4", "-o", "addr", "show"}));
  OAK_ASSIGN_OR_RETURN(auto routes4, ip({"-4", "route", "show", "table", "all"}));
  OAK_ASSIGN_OR_RETURN(auto v6, ip({"-6", "-o", "addr", "show"}));
  OAK_ASSIGN_OR_RETURN(auto routes6, ip({"-6", "route", "show", "table", "all"}));
  uint32_t ours = (172u << 24) | (31u << 16) | (static_cast<uint32_t>(k) << 8);
  static const std::regex kPrefix4(R"((\d+\.\d+\.\d+\.\d+)(?:/(\d+))?)");
  std::string text = v4 + "\n" + routes4;
  for (std::sregex_iterator it(text.begin(), text.end(), kPrefix4), end; it != end; ++it) {
    in_addr a{};
    if (::inet_pton(AF_INET, (*it)[1].str().c_str(), &a) != 1) continue;
    int len = (*it)[2].matched ? std::stoi((*it)[2].str()) : 32;
    if (len > 0 && overlaps(ntohl(a.s_addr), len, ours, 24)) return true;
  }
  std::string needle = fmt::format("2001:db8:{}:", k);
  return (v6 + routes6).find(needle) != std::string::npos;
}

std::string randomTag() {
  std::random_device rd;
  return fmt::format("{:04x}", rd() & 0xffff);
}

}  // namespace

Result<std::unique_ptr<NetworkLab>> NetworkLab::create(size_t hosts, NetworkLabOptions options) {
  if (::geteuid() != 0) {
    return makeError(ErrorCode::kPermissionDenied,
                     "NetworkLab needs root (network namespaces, veths, a bridge): run the "
                     "integration tests as root");
  }
  if (findOnPath("ip").empty()) return failure("'ip' (iproute2) is not installed");
  if (findOnPath("busybox").empty()) return failure("'busybox' is not installed (busybox-static)");
  if (hosts == 0 || hosts > 200) {
    return makeError(ErrorCode::kInvalidArgument, "hosts: between 1 and 200");
  }
  OAK_TRY(files::ensureDirectory(kLockDir, 0700));
  // Creation (and the clean-up before it) is serialized between test processes, so that a
  // subnet checked free is still free when the bridge gets its address.
  OAK_ASSIGN_OR_RETURN(auto global, lockExclusive(std::string(kLockDir) + "/create", kLockTimeout));
  OAK_TRY(removeStaleLabs());

  std::unique_ptr<NetworkLab> lab(new NetworkLab());
  lab->mtu_ = options.mtu;
  for (int attempt = 0; lab->tag_.empty() && attempt < 100; ++attempt) {
    std::string tag = randomTag();
    int fd = ::open(lockFile(tag).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) continue;  // taken
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return failure(fmt::format("flock {}: {}", lockFile(tag), std::strerror(errno)));
    }
    lab->tag_ = tag;
    lab->lock_fd_ = fd;
  }
  if (lab->tag_.empty()) return failure("no free lab name after 100 attempts");
  std::string note = fmt::format("pid {}\n", ::getpid());
  (void)!::write(lab->lock_fd_, note.data(), note.size());

  int first = 1 + ::getpid() % 254;
  for (int i = 0; i < 254 && lab->k_ == 0; ++i) {
    int k = 1 + (first - 1 + i) % 254;
    OAK_ASSIGN_OR_RETURN(bool used, subnetInUse(k));
    if (!used) lab->k_ = k;
  }
  if (lab->k_ == 0) return failure("every 172.31.K.0/24 (K 1..254) is in use on this machine");
  // On failure the half-built lab is removed by its destructor.
  OAK_TRY(lab->build(hosts));
  return lab;
}

Status NetworkLab::build(size_t hosts) {
  bridge_ = std::string(kPrefix) + tag_;
  std::string mtu = std::to_string(mtu_);
  OAK_TRY(ip({"link", "add", "name", bridge_, "mtu", mtu, "type", "bridge", "forward_delay", "0",
              "mcast_snooping", "0"}));
  OAK_TRY(sysctl("", {fmt::format("net.ipv6.conf.{}.disable_ipv6=0", bridge_)}));
  OAK_TRY(ip({"addr", "add", gateway() + "/24", "dev", bridge_}));
  OAK_TRY(ip({"-6", "addr", "add", gateway6() + "/64", "dev", bridge_, "nodad"}));
  OAK_TRY(ip({"link", "set", bridge_, "up"}));
  for (size_t i = 0; i < hosts; ++i) {
    Host h;
    h.netns = fmt::format("{}-{}", bridge_, i);
    h.link = fmt::format("{}h{}", bridge_, i);
    h.address = fmt::format("172.31.{}.{}", k_, i + 2);
    h.address6 = fmt::format("2001:db8:{}::{:x}", k_, i + 2);
    OAK_TRY(ip({"netns", "add", h.netns}));
    hosts_.push_back(h);
    OAK_TRY(ip({"link", "add", h.link, "mtu", mtu, "type", "veth", "peer", "name", "eth0", "mtu",
                mtu, "netns", h.netns}));
    OAK_TRY(ip({"link", "set", h.link, "master", bridge_, "up"}));
    // A new namespace may inherit disabled IPv6 from the machine's defaults.
    OAK_TRY(
        sysctl(h.netns, {"net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0",
                         "net.ipv6.conf.eth0.disable_ipv6=0"}));
    OAK_TRY(ip({"-n", h.netns, "link", "set", "lo", "up"}));
    OAK_TRY(ip({"-n", h.netns, "addr", "add", h.address + "/24", "dev", "eth0"}));
    OAK_TRY(ip({"-n", h.netns, "-6", "addr", "add", h.address6 + "/64", "dev", "eth0", "nodad"}));
    OAK_TRY(ip({"-n", h.netns, "link", "set", "eth0", "up"}));
    OAK_TRY(ip({"-n", h.netns, "route", "add", "default", "via", gateway()}));
    OAK_TRY(ip({"-n", h.netns, "-6", "route", "add", "default", "via", gateway6()}));
  }
  return {};
}

NetworkLab::~NetworkLab() {
  for (const auto& h : hosts_) {
    (void)ip({"link", "del", h.link});
    (void)ip({"netns", "del", h.netns});
  }
  if (!bridge_.empty()) (void)ip({"link", "del", bridge_});
  if (lock_fd_ >= 0) {
    std::error_code ec;
    fs::remove(lockFile(tag_), ec);
    ::close(lock_fd_);
  }
}

std::string NetworkLab::gateway() const {
  return fmt::format("172.31.{}.1", k_);
}
std::string NetworkLab::gateway6() const {
  return fmt::format("2001:db8:{}::1", k_);
}
std::string NetworkLab::subnet() const {
  return fmt::format("172.31.{}.0/24", k_);
}
std::string NetworkLab::subnet6() const {
  return fmt::format("2001:db8:{}::/64", k_);
}

CommandResult NetworkLab::run(size_t host, const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout) const {
  return runCommand(argv, timeout, hosts_.at(host).netns);
}

CommandResult NetworkLab::ping(size_t host, const std::string& address) const {
  return run(host, {"busybox", "ping", "-c", "1", "-W", "2", address});
}

}  // namespace oak::testing
