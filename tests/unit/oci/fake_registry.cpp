#include "fake_registry.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <future>

#include "common/json.h"
#include "oci/auth.h"
#include "oci/digest.h"
#include "oci/manifest.h"

namespace oak::oci::testing {

namespace {

http::Response answer(int status, const std::string& content_type, std::string body,
                      http::HeaderList headers = {}) {
  http::Response r;
  r.status = status;
  r.content_type = content_type;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

http::Response registryError(int status, const std::string& code, const std::string& message,
                             http::HeaderList headers = {}) {
  boost::json::object e{{"code", code}, {"message", message}};
  boost::json::object body{{"errors", boost::json::array{e}}};
  return answer(status, "application/json", json::dump(body), std::move(headers));
}

boost::json::object descriptor(std::string_view type, const std::string& digest, size_t size) {
  return {{"mediaType", type}, {"digest", digest}, {"size", size}};
}

}  // namespace

FakeImage makeImage(const std::string& architecture, bool docker_types) {
  FakeImage img;
  boost::json::object config{{"architecture", architecture},
                             {"os", "linux"},
                             {"config", {{"Cmd", boost::json::array{"sh"}}}}};
  img.config = json::dump(config);
  img.config_digest = sha256Digest(img.config);
  // Big enough to arrive in several chunks and to resume in the middle.
  for (int i = 0; img.layer.size() < 200 * 1024; ++i) {
    img.layer += fmt::format("{} layer chunk {}\n", architecture, i);
  }
  img.layer_digest = sha256Digest(img.layer);
  img.manifest_type = docker_types ? media::kDockerManifest : media::kOciManifest;
  boost::json::object manifest{
      {"schemaVersion", 2},
      {"mediaType", img.manifest_type},
      {"config", descriptor(docker_types ? media::kDockerConfig : media::kOciConfig,
                            img.config_digest, img.config.size())},
      {"layers", boost::json::array{
                     descriptor(docker_types ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
                                             : "application/vnd.oci.image.layer.v1.tar+gzip",
                                img.layer_digest, img.layer.size())}}};
  img.manifest = json::dump(manifest);
  img.manifest_digest = sha256Digest(img.manifest);
  return img;
}

std::string makeIndex(const std::vector<std::pair<std::string, const FakeImage*>>& entries,
                      bool docker_list) {
  boost::json::array manifests;
  for (const auto& [platform, image] : entries) {
    auto p = Platform::parse(platform);
    boost::json::object d =
        descriptor(image->manifest_type, image->manifest_digest, image->manifest.size());
    boost::json::object plat{{"os", p->os}, {"architecture", p->architecture}};
    if (!p->variant.empty()) plat["variant"] = p->variant;
    d["platform"] = plat;
    manifests.push_back(d);
  }
  return json::dump(
      boost::json::object{{"schemaVersion", 2},
                          {"mediaType", docker_list ? media::kDockerList : media::kOciIndex},
                          {"manifests", manifests}});
}

FakeRegistry::FakeRegistry() {
  router_.add(http::Method::kGet, "/v2/{repo}/manifests/{ref}", {},
              [this](const http::Request& r) { return manifest(r); });
  router_.add(http::Method::kGet, "/v2/{repo}/blobs/{digest}", {},
              [this](const http::Request& r) { return blob(r, false); });
  router_.add(http::Method::kGet, "/token", {},
              [this](const http::Request& r) { return token(r); });
  cdn_router_.add(http::Method::kGet, "/cdn/{digest}", {},
                  [this](const http::Request& r) { return blob(r, true); });
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  server_ = std::move(http::HttpServer::start(loop_, options, router_).value());
  cdn_ = std::move(http::HttpServer::start(loop_, options, cdn_router_).value());
  thread_ = std::thread([this] { loop_.run(); });
}

FakeRegistry::~FakeRegistry() {
  std::promise<void> stopped;
  loop_.post([&] {
    server_->stop();
    cdn_->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  loop_.stop();
  thread_.join();
}

std::string FakeRegistry::host() const {
  return fmt::format("127.0.0.1:{}", server_->port());
}

void FakeRegistry::putManifest(const std::string& reference, const std::string& media_type,
                               const std::string& bytes) {
  std::lock_guard lock(mutex_);
  manifests_[reference] = {media_type, bytes};
  manifests_[sha256Digest(bytes)] = {media_type, bytes};
}

void FakeRegistry::putBlob(const std::string& digest, const std::string& bytes) {
  std::lock_guard lock(mutex_);
  blobs_[digest] = bytes;
}

void FakeRegistry::putImage(const std::string& tag, const FakeImage& image) {
  putManifest(tag, image.manifest_type, image.manifest);
  putBlob(image.config_digest, image.config);
  putBlob(image.layer_digest, image.layer);
}

void FakeRegistry::setAuth(Auth auth, int token_lifetime_seconds) {
  std::lock_guard lock(mutex_);
  auth_ = auth;
  token_lifetime_ = token_lifetime_seconds;
}

void FakeRegistry::requireCredentials(std::string user, std::string password) {
  std::lock_guard lock(mutex_);
  credentials_ = {std::move(user), std::move(password)};
}

void FakeRegistry::revokeTokens() {
  std::lock_guard lock(mutex_);
  valid_tokens_.clear();
}

void FakeRegistry::refuseAllTokens(bool on) {
  std::lock_guard lock(mutex_);
  refuse_all_tokens_ = on;
}

void FakeRegistry::redirectBlobs(bool on) {
  std::lock_guard lock(mutex_);
  redirect_blobs_ = on;
}

void FakeRegistry::failWith(int status) {
  std::lock_guard lock(mutex_);
  fail_status_ = status;
}

void FakeRegistry::honourRanges(bool on) {
  std::lock_guard lock(mutex_);
  honour_ranges_ = on;
}

int FakeRegistry::tokenRequests() const {
  std::lock_guard lock(mutex_);
  return tokens_issued_;
}

std::vector<SeenRequest> FakeRegistry::registryRequests() const {
  std::lock_guard lock(mutex_);
  return registry_seen_;
}

std::vector<SeenRequest> FakeRegistry::cdnRequests() const {
  std::lock_guard lock(mutex_);
  return cdn_seen_;
}

// Called with the mutex held.
std::optional<http::Response> FakeRegistry::refuse(const http::Request& req) {
  registry_seen_.push_back({req.path, std::string(req.header("authorization")), req.query});
  if (fail_status_ != 0) return registryError(fail_status_, "UNKNOWN", "the disk is on fire");
  std::string_view given = req.header("authorization");
  if (auth_ == Auth::kBearer) {
    bool ok = given.starts_with("Bearer ") && !refuse_all_tokens_ &&
              valid_tokens_.contains(std::string(given.substr(7)));
    if (ok) return std::nullopt;
    std::string challenge = fmt::format(
        R"(Bearer realm="http://{}/token",service="fake-registry",scope="repository:{}:pull")",
        host(), req.param("repo"));
    return registryError(401, "UNAUTHORIZED", "authentication required",
                         {{"WWW-Authenticate", challenge}});
  }
  if (auth_ == Auth::kBasic) {
    if (credentials_ && given == basicAuthorization(credentials_->first, credentials_->second)) {
      return std::nullopt;
    }
    return registryError(401, "UNAUTHORIZED", "authentication required",
                         {{"WWW-Authenticate", R"(Basic realm="fake-registry")"}});
  }
  return std::nullopt;
}

http::Response FakeRegistry::manifest(const http::Request& req) {
  std::lock_guard lock(mutex_);
  if (auto refusal = refuse(req)) return *refusal;
  auto it = manifests_.find(std::string(req.param("ref")));
  if (it == manifests_.end()) return registryError(404, "MANIFEST_UNKNOWN", "manifest unknown");
  return answer(200, it->second.first, it->second.second,
                {{"Docker-Content-Digest", sha256Digest(it->second.second)}});
}

http::Response FakeRegistry::blob(const http::Request& req, bool from_cdn) {
  std::lock_guard lock(mutex_);
  std::string digest(req.param("digest"));
  if (from_cdn) {
    cdn_seen_.push_back({req.path, std::string(req.header("authorization")), req.query});
  } else {
    if (auto refusal = refuse(req)) return *refusal;
    if (redirect_blobs_) {
      std::string location =
          fmt::format("http://127.0.0.1:{}/cdn/{}?signature=abc", cdn_->port(), digest);
      return answer(307, "", "", {{"Location", location}});
    }
  }
  auto it = blobs_.find(digest);
  if (it == blobs_.end()) return registryError(404, "BLOB_UNKNOWN", "blob unknown to registry");
  const std::string& bytes = it->second;
  std::string_view range = req.header("range");
  if (honour_ranges_ && range.starts_with("bytes=") && range.ends_with("-")) {
    size_t start = std::stoul(std::string(range.substr(6, range.size() - 7)));
    if (start < bytes.size()) {
      return answer(206, "application/octet-stream", bytes.substr(start),
                    {{"Content-Range",
                      fmt::format("bytes {}-{}/{}", start, bytes.size() - 1, bytes.size())}});
    }
  }
  return answer(200, "application/octet-stream", bytes);
}

http::Response FakeRegistry::token(const http::Request& req) {
  std::lock_guard lock(mutex_);
  ++tokens_issued_;
  registry_seen_.push_back({req.path, std::string(req.header("authorization")), req.query});
  if (credentials_ && req.header("authorization") !=
                          basicAuthorization(credentials_->first, credentials_->second)) {
    return registryError(401, "UNAUTHORIZED", "incorrect username or password");
  }
  std::string token = fmt::format("token-{}", tokens_issued_);
  valid_tokens_.insert(token);
  return answer(200, "application/json",
                json::dump(boost::json::object{{"token", token}, {"expires_in", token_lifetime_}}));
}

}  // namespace oak::oci::testing
