#include "worker/runtime/containerd/oci_spec.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

namespace oak::worker::containerd {
namespace {

namespace bj = boost::json;

constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr int64_t kCpuPeriodUs = 100000;

// What a container process may do as root: the set container engines have long agreed on.
const char* const kCapabilities[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

// Kernel interfaces a container must not see or change.
const char* const kMaskedPaths[] = {"/proc/acpi",
                                    "/proc/asound",
                                    "/proc/kcore",
                                    "/proc/keys",
                                    "/proc/latency_stats",
                                    "/proc/timer_list",
                                    "/proc/timer_stats",
                                    "/proc/sched_debug",
                                    "/proc/scsi",
                                    "/sys/firmware",
                                    "/sys/devices/virtual/powercap"};
const char* const kReadonlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"};

bj::array strings(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

template <size_t N>
bj::array strings(const char* const (&v)[N]) {
  bj::array a;
  for (const char* s : v) a.emplace_back(s);
  return a;
}

bj::object mount(std::string_view dest, std::string_view type, std::string_view source,
                 std::vector<std::string> options) {
  return bj::object{
      {"destination", dest}, {"type", type}, {"source", source}, {"options", strings(options)}};
}

std::optional<uint32_t> parseId(std::string_view s) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Result<std::pair<uint32_t, uint32_t>> parseUser(const std::string& user) {
  if (user.empty() || user == "root" || user == "root:root") return std::pair{0u, 0u};
  auto colon = user.find(':');
  std::string_view uid_text = std::string_view(user).substr(0, colon);
  auto uid = parseId(uid_text);
  std::optional<uint32_t> gid = uid;
  if (colon != std::string::npos) gid = parseId(std::string_view(user).substr(colon + 1));
  if (!uid || !gid) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("image user '{}': only numeric uid[:gid] is supported", user));
  }
  return std::pair{*uid, *gid};
}

// Image variables first, the service's override them by name.
bj::array environment(const ImageConfig& image, const InstanceSpec& spec) {
  std::vector<std::string> env;
  auto set = [&env](const std::string& entry) {
    auto name = entry.substr(0, entry.find('='));
    for (auto& e : env) {
      if (e.substr(0, e.find('=')) == name) {
        e = entry;
        return;
      }
    }
    env.push_back(entry);
  };
  set(kDefaultPath);
  for (const auto& e : image.env) set(e);
  for (const auto& e : spec.environment) set(e);
  return strings(env);
}

bj::object resources(const InstanceSpec& spec) {
  bj::object r{{"devices", bj::array{bj::object{{"allow", false}, {"access", "rwm"}}}}};
  if (spec.memory_mb > 0) {
    int64_t bytes = spec.memory_mb * 1024 * 1024;
    r["memory"] = bj::object{{"limit", bytes}, {"swap", bytes}};
  }
  if (spec.vcpus > 0) {
    auto quota = static_cast<int64_t>(std::llround(spec.vcpus * kCpuPeriodUs));
    r["cpu"] = bj::object{{"quota", quota}, {"period", kCpuPeriodUs}};
  }
  r["pids"] = bj::object{{"limit", 4096}};
  return r;
}

}  // namespace

Result<std::string> buildSpec(const InstanceSpec& spec, const ImageConfig& image,
                              const SpecOptions& options) {
  // The service's `cmd` replaces the image's entrypoint and command together.
  std::vector<std::string> args = spec.cmd;
  if (args.empty()) {
    args = image.entrypoint;
    args.insert(args.end(), image.cmd.begin(), image.cmd.end());
  }
  if (args.empty()) {
    return makeError(ErrorCode::kUnprocessable,
                     "no command: the image has no entrypoint or cmd and the service sets no cmd");
  }
  OAK_ASSIGN_OR_RETURN(auto ids, parseUser(image.user));

  std::optional<bj::object> doc_hooks;
  bj::object caps;
  for (const char* set : {"bounding", "effective", "permitted"}) caps[set] = strings(kCapabilities);

  bj::object process{
      {"terminal", false},
      {"user", bj::object{{"uid", ids.first}, {"gid", ids.second}}},
      {"args", strings(args)},
      {"env", environment(image, spec)},
      {"cwd", image.working_dir.empty() ? "/" : image.working_dir},
      {"capabilities", caps},
      {"rlimits", bj::array{bj::object{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
      {"noNewPrivileges", true}};

  bj::array mounts{
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
      mount("/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"})};
  if (options.bind_resolv_conf) {
    mounts.push_back(mount("/etc/resolv.conf", "bind", "/etc/resolv.conf", {"rbind", "ro"}));
  }

  bj::array namespaces;
  for (const char* ns : {"pid", "ipc", "uts", "mount"}) {
    namespaces.push_back(bj::object{{"type", ns}});
  }
  if (options.netns_path) {
    namespaces.push_back(bj::object{{"type", "network"}, {"path", *options.netns_path}});
  }

  std::string task_id = spec.taskId();
  bj::object linux{{"namespaces", namespaces},
                   {"resources", resources(spec)},
                   {"cgroupsPath", options.cgroups_parent + "/" + task_id},
                   {"maskedPaths", strings(kMaskedPaths)},
                   {"readonlyPaths", strings(kReadonlyPaths)}};

  if (spec.vgpus > 0) {
    if (!options.gpu_hook) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("vgpus: {} requested, but this worker has no GPU support "
                                   "(nvidia-container-runtime-hook is not installed)",
                                   spec.vgpus));
    }
    // The hook reads the devices to expose from the container's environment.
    auto& env = process["env"].as_array();
    env.emplace_back("NVIDIA_VISIBLE_DEVICES=all");
    env.emplace_back("NVIDIA_DRIVER_CAPABILITIES=compute,utility");
    doc_hooks = bj::object{
        {"prestart", bj::array{bj::object{{"path", *options.gpu_hook},
                                          {"args", bj::array{*options.gpu_hook, "prestart"}}}}}};
  }

  std::string hostname = options.hostname.empty() ? task_id : options.hostname;
  if (hostname.size() > 63) hostname.resize(63);  // the kernel's limit

  bj::object doc{{"ociVersion", "1.0.2-dev"},
                 {"process", process},
                 {"root", bj::object{{"path", "rootfs"}, {"readonly", false}}},
                 {"hostname", hostname},
                 {"mounts", mounts},
                 {"linux", linux}};
  if (doc_hooks) doc["hooks"] = std::move(*doc_hooks);
  return bj::serialize(doc);
}

}  // namespace oak::worker::containerd
