#include "registry.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "http/client.h"

namespace oak::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kToolTimeout = 60s;
constexpr auto kStartTimeout = 15s;
constexpr std::string_view kBusybox = "/bin/busybox";
constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

Error failure(std::string message) {
  return makeError(ErrorCode::kUnavailable, std::move(message));
}

Result<std::string> findTool(const std::string& name) {
  std::string found = findOnPath(name);
  if (!found.empty()) return found;
  return failure(fmt::format("'{}' is not installed (./scripts/deps.sh installs it)", name));
}

// Runs a tool to its end (bounded); its output when it fails.
Status run(const std::string& tool, std::vector<std::string> args, const fs::path& log_dir) {
  OAK_ASSIGN_OR_RETURN(auto binary, findTool(tool));
  static int runs = 0;
  std::string log =
      (log_dir / fmt::format("{}-{}.log", fs::path(tool).filename().string(), ++runs)).string();
  std::string command = fmt::format("{} {}", tool, fmt::join(args, " "));
  Process p(binary, std::move(args), {}, log);
  auto deadline = std::chrono::steady_clock::now() + kToolTimeout;
  while (p.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  bool timed_out = p.running();
  int code = p.stop(SIGKILL);
  if (timed_out || code != 0) {
    return failure(fmt::format("`{}` {}: {}", command,
                               timed_out ? "timed out" : fmt::format("exited with {}", code),
                               p.log()));
  }
  return {};
}

std::vector<std::string> configArgs(const BusyboxImageOptions& o) {
  std::vector<std::string> args;
  // umoci keeps list values unless cleared; the base image has none, so set them as given.
  for (const auto& e : o.entrypoint) args.push_back("--config.entrypoint=" + e);
  for (const auto& c : o.cmd) args.push_back("--config.cmd=" + c);
  for (const auto& e : o.env) args.push_back("--config.env=" + e);
  if (!o.working_dir.empty()) args.push_back("--config.workingdir=" + o.working_dir);
  return args;
}

// An OCI layout holding "base": busybox and a symlink per applet in /bin. Built once per process.
class BaseLayout {
 public:
  static Result<BaseLayout*> get() {
    static std::mutex mutex;
    static std::unique_ptr<BaseLayout> instance;
    std::lock_guard lock(mutex);
    if (!instance) {
      auto built = std::unique_ptr<BaseLayout>(new BaseLayout());
      OAK_TRY(built->build());
      instance = std::move(built);
    }
    return instance.get();
  }

  std::string layout() const { return dir_.file("layout"); }
  const fs::path& logs() const { return dir_.path(); }
  std::string nextTag() { return fmt::format("t{}", ++tags_); }

 private:
  BaseLayout() = default;

  Status build() {
    fs::path root = dir_.path() / "rootfs";
    std::error_code ec;
    for (const char* d : {"bin", "etc", "tmp", "proc", "sys", "dev"}) {
      fs::create_directories(root / d, ec);
    }
    fs::copy_file(kBusybox, root / "bin/busybox", ec);
    if (ec)
      return failure(fmt::format("cannot copy {}: {} (busybox-static)", kBusybox, ec.message()));
    OAK_TRY(run(std::string(kBusybox), {"--install", "-s", (root / "bin").string()}, logs()));
    // --install links to the running binary's absolute path; the image wants its own copy.
    for (const auto& entry : fs::directory_iterator(root / "bin")) {
      if (!entry.is_symlink()) continue;
      fs::remove(entry.path());
      fs::create_symlink("busybox", entry.path());
    }
    OAK_TRY(files::writeAtomic(
        (root / "etc/passwd").string(),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n", 0644));
    OAK_TRY(
        files::writeAtomic((root / "etc/group").string(), "root:x:0:\nnogroup:x:65534:\n", 0644));
    OAK_TRY(run("umoci", {"init", "--layout", layout()}, logs()));
    OAK_TRY(run("umoci", {"new", "--image", layout() + ":base"}, logs()));
    OAK_TRY(run("umoci", {"insert", "--image", layout() + ":base", root.string(), "/"}, logs()));
    return {};
  }

  TempDir dir_;
  int tags_ = 0;
};

Result<http::Response> registryCall(const LocalRegistry& registry, http::ClientRequest req) {
  OAK_ASSIGN_OR_RETURN(auto r, http::fetch(registry.address(), registry.port(), req, 10s));
  if (r.status / 100 != 2) {
    return failure(fmt::format("{} {} answered {}: {}", http::methodName(req.method), req.target,
                               r.status, r.body));
  }
  return r;
}

std::string headerOf(const http::Response& r, std::string_view lower_name) {
  for (const auto& [k, v] : r.headers) {
    if (k == lower_name) return v;
  }
  return {};
}

// Tags an image in the base layout (config from `options`, platform from `extra`) and pushes it.
Result<PushedImage> push(const LocalRegistry& registry, const std::string& name,
                         const std::string& tag, const BusyboxImageOptions& options,
                         std::vector<std::string> extra) {
  OAK_ASSIGN_OR_RETURN(auto* base, BaseLayout::get());
  std::string local = base->nextTag();
  std::vector<std::string> args{"config", "--image", base->layout() + ":base", "--tag", local};
  for (auto& a : configArgs(options)) args.push_back(std::move(a));
  for (auto& a : extra) args.push_back(std::move(a));
  OAK_TRY(run("umoci", std::move(args), base->logs()));
  for (const auto& [from, to] : options.extra_files) {
    if (!fs::exists(from)) return failure(fmt::format("extra file {} does not exist", from));
    OAK_TRY(
        run("umoci", {"insert", "--image", base->layout() + ":" + local, from, to}, base->logs()));
  }

  std::string reference = fmt::format("{}/{}:{}", registry.host(), name, tag);
  std::string digest_file = (base->logs() / (local + ".digest")).string();
  std::vector<std::string> copy{"--insecure-policy", "copy", "--dest-tls-verify=false",
                                "--digestfile", digest_file};
  if (options.docker_format) {
    copy.push_back("--format");
    copy.push_back("v2s2");
  }
  copy.push_back(fmt::format("oci:{}:{}", base->layout(), local));
  copy.push_back("docker://" + reference);
  OAK_TRY(run("skopeo", std::move(copy), base->logs()));
  OAK_ASSIGN_OR_RETURN(auto digest, files::read(digest_file));

  // What the registry serves under that digest: its media type and size, for indexes.
  OAK_ASSIGN_OR_RETURN(auto served,
                       registryCall(registry, {http::Method::kGet,
                                               fmt::format("/v2/{}/manifests/{}", name, digest),
                                               {{"Accept", std::string(kManifestAccept)}},
                                               "",
                                               ""}));
  return PushedImage{reference, digest, served.content_type,
                     static_cast<int64_t>(served.body.size())};
}

}  // namespace

Result<std::unique_ptr<LocalRegistry>> LocalRegistry::start(LocalRegistryOptions options) {
  OAK_ASSIGN_OR_RETURN(auto registry_binary, findTool("docker-registry"));
  // Under `setpriv --pdeathsig KILL` the registry dies with the test process, even when the
  // test crashes or never destroys the fixture.
  OAK_ASSIGN_OR_RETURN(auto setpriv, findTool("setpriv"));
  std::unique_ptr<LocalRegistry> r(new LocalRegistry());
  r->address_ = options.address;
  std::string config = r->dir_.file("config.yml");
  // A port picked free may be taken before the registry binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    r->port_ = pickFreePort();
    OAK_TRY(files::writeAtomic(config,
                               fmt::format("version: 0.1\n"
                                           "log:\n  level: warn\n"
                                           "storage:\n  filesystem:\n    rootdirectory: {}\n"
                                           "  delete:\n    enabled: true\n"
                                           "http:\n  addr: {}\n  secret: oak-test\n",
                                           r->dir_.file("storage"), r->host()),
                               0644));
    r->process_ = std::make_unique<Process>(
        setpriv, std::vector<std::string>{"--pdeathsig", "KILL", registry_binary, "serve", config},
        std::map<std::string, std::string>{}, r->dir_.file("registry.log"));
    auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (r->process_->running() && std::chrono::steady_clock::now() < deadline) {
      auto v2 = http::fetch(r->address_, r->port_, {http::Method::kGet, "/v2/", {}, "", ""}, 1s);
      if (v2 && v2->status == 200) return r;
      std::this_thread::sleep_for(20ms);
    }
    if (r->process_->running()) break;  // alive but silent: no point in another port
  }
  std::string log = r->log();
  r->stop();
  return failure(fmt::format("docker-registry did not answer /v2/ on {}: {}", r->host(), log));
}

LocalRegistry::~LocalRegistry() {
  stop();
}

std::string LocalRegistry::host() const {
  return fmt::format("{}:{}", address_, port_);
}

void LocalRegistry::stop() {
  if (process_) process_->stop(SIGTERM, 5s);
}

std::string LocalRegistry::log() const {
  return process_ ? process_->log() : std::string();
}

Result<PushedImage> pushBusyboxImage(const LocalRegistry& registry, const std::string& name,
                                     const std::string& tag, const BusyboxImageOptions& options) {
  return push(registry, name, tag, options, {});
}

Result<PushedIndex> pushMultiPlatformImage(const LocalRegistry& registry, const std::string& name,
                                           const std::string& tag,
                                           const std::vector<std::string>& platforms,
                                           const BusyboxImageOptions& options) {
  PushedIndex out;
  out.reference = fmt::format("{}/{}:{}", registry.host(), name, tag);
  std::string entries;
  for (const auto& platform : platforms) {
    std::vector<std::string> parts;
    std::stringstream in(platform);
    for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
    if (parts.size() < 2 || parts.size() > 3) {
      return makeError(ErrorCode::kInvalidArgument,
                       fmt::format("platform '{}' is not OS/ARCH[/VARIANT]", platform));
    }
    std::string platform_tag = fmt::format("{}-{}", tag, fmt::join(parts, "-"));
    OAK_ASSIGN_OR_RETURN(auto image, push(registry, name, platform_tag, options,
                                          {"--os=" + parts[0], "--architecture=" + parts[1]}));
    std::string variant = parts.size() == 3 ? fmt::format(R"(,"variant":"{}")", parts[2]) : "";
    entries += fmt::format(
        R"({}{{"mediaType":"{}","digest":"{}","size":{},"platform":{{"os":"{}","architecture":"{}"{}}}}})",
        entries.empty() ? "" : ",", image.media_type, image.digest, image.size, parts[0], parts[1],
        variant);
    out.manifests.emplace_back(platform, std::move(image));
  }
  std::string index_type = options.docker_format
                               ? "application/vnd.docker.distribution.manifest.list.v2+json"
                               : "application/vnd.oci.image.index.v1+json";
  std::string index = fmt::format(R"({{"schemaVersion":2,"mediaType":"{}","manifests":[{}]}})",
                                  index_type, entries);
  OAK_ASSIGN_OR_RETURN(auto put,
                       registryCall(registry, {http::Method::kPut,
                                               fmt::format("/v2/{}/manifests/{}", name, tag),
                                               {},
                                               index,
                                               index_type}));
  out.digest = headerOf(put, "docker-content-digest");
  if (out.digest.empty()) return failure("the registry answered the index push without a digest");
  return out;
}

std::string sharedBusyboxImage() {
  static std::unique_ptr<LocalRegistry> registry;
  static std::string reference = [] {
    auto started = LocalRegistry::start();
    if (!started) {
      ADD_FAILURE() << started.error().message;
      return std::string();
    }
    registry = std::move(*started);
    auto pushed = pushBusyboxImage(*registry, "busybox", "v1");
    if (!pushed) {
      ADD_FAILURE() << pushed.error().message;
      return std::string();
    }
    return pushed->reference;
  }();
  return reference;
}

}  // namespace oak::testing
