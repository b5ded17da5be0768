#pragma once
// The authenticated transport under RegistryClient: GETs of registry paths that answer 401
// challenges (Bearer tokens, Basic credentials), follow redirects without carrying credentials
// to other origins, and turn failures into errors that name the image.

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "oci/auth.h"
#include "oci/http_session.h"
#include "oci/registry_client.h"

namespace oak::oci {

// What all calls of one client share: its options and what it learnt about authentication.
struct AuthState {
  explicit AuthState(RegistryOptions o);

  RegistryOptions options;
  TokenCache tokens;
  std::mutex mutex;
  std::set<std::string> basic_registries;  // registries that asked for basic credentials
};

// "http" for loopback hosts and `insecure` registries, else "https".
std::string schemeFor(const std::vector<std::string>& insecure, std::string_view registry);

// One resolve or fetch: its connections, and how it names the image in errors.
class RegistrySession {
 public:
  RegistrySession(AuthState& state, const Reference& ref);

  const Reference& ref() const { return ref_; }

  // GET of "/v2/..." on the image's registry. 2xx bodies go to `sink`; other answers are
  // results (see `statusError`). Errors: transport failures, refused authentication, the sink's.
  Result<HttpResult> get(const std::string& path, const std::vector<std::string>& headers,
                         const BodySink& sink);

  // "image REF: <message>".
  Error fail(ErrorCode code, std::string_view message) const;
  // A non-success answer as an error; `what` ("blob sha256:...") prefixes the registry's words.
  Error statusError(const HttpResult& r, std::string_view what) const;

 private:
  std::string cachedAuthorization();
  Result<std::string> authorize(const HttpResult& unauthorized);
  Result<std::string> fetchToken(const Challenge& bearer);
  Error transportError(const std::string& url, const Error& e) const;

  AuthState& state_;
  const Reference& ref_;
  std::string image_;      // canonical reference, for messages
  std::string base_;       // "https://registry-1.docker.io"
  std::string scope_;      // "repository:library/busybox:pull"
  std::string token_key_;  // registry and scope
  HttpSession http_;
};

bool isSuccess(int status);

}  // namespace oak::oci
