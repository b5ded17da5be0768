#pragma once
// A registry that misbehaves on request: an `HttpServer` on 127.0.0.1 speaking enough of the
// distribution API (manifests, blobs, a token service, a second "CDN" server for redirects)
// to drive the client's auth, redirect and error paths. Its event loop runs on its own thread;
// configuration and records are guarded by a mutex.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http/event_loop.h"
#include "http/router.h"
#include "http/server.h"

namespace oak::oci::testing {

// A small image: a config for `architecture`, one layer, and the manifest naming both.
struct FakeImage {
  std::string config, config_digest;
  std::string layer, layer_digest;
  std::string manifest, manifest_digest, manifest_type;
};
FakeImage makeImage(const std::string& architecture = "amd64", bool docker_types = false);
// An index (or Docker list) of images with their platforms ("linux/arm/v7").
std::string makeIndex(const std::vector<std::pair<std::string, const FakeImage*>>& entries,
                      bool docker_list = false);

struct SeenRequest {
  std::string path;
  std::string authorization;
  std::string query;
};

class FakeRegistry {
 public:
  enum class Auth { kNone, kBearer, kBasic };

  FakeRegistry();
  ~FakeRegistry();

  std::string host() const;  // "127.0.0.1:PORT"
  uint16_t cdnPort() const { return cdn_->port(); }

  // Content, for any repository.
  void putManifest(const std::string& reference, const std::string& media_type,
                   const std::string& bytes);
  void putBlob(const std::string& digest, const std::string& bytes);
  void putImage(const std::string& tag, const FakeImage& image);

  // Behaviour.
  void setAuth(Auth auth, int token_lifetime_seconds = 60);
  void requireCredentials(std::string user, std::string password);  // at the token service
  void revokeTokens();            // tokens handed out so far are refused
  void refuseAllTokens(bool on);  // every token is refused (a 401 that survives auth)
  void redirectBlobs(bool on);    // blobs answer 307 to the CDN server
  void failWith(int status);      // every registry request answers this (0: normal)
  void honourRanges(bool on);     // answer Range requests with 206 (default) or ignore them

  // Records.
  int tokenRequests() const;
  std::vector<SeenRequest> registryRequests() const;
  std::vector<SeenRequest> cdnRequests() const;

 private:
  http::Response manifest(const http::Request& req);
  http::Response blob(const http::Request& req, bool from_cdn);
  http::Response token(const http::Request& req);
  std::optional<http::Response> refuse(const http::Request& req);

  mutable std::mutex mutex_;
  std::map<std::string, std::pair<std::string, std::string>> manifests_;  // ref -> type, bytes
  std::map<std::string, std::string> blobs_;
  Auth auth_ = Auth::kNone;
  int token_lifetime_ = 60;
  std::optional<std::pair<std::string, std::string>> credentials_;
  std::set<std::string> valid_tokens_;
  int tokens_issued_ = 0;
  bool refuse_all_tokens_ = false;
  bool redirect_blobs_ = false;
  int fail_status_ = 0;
  bool honour_ranges_ = true;
  std::vector<SeenRequest> registry_seen_, cdn_seen_;

  http::Router router_, cdn_router_;
  EventLoop loop_{1};
  std::unique_ptr<http::HttpServer> server_, cdn_;
  std::thread thread_;
};

}  // namespace oak::oci::testing
