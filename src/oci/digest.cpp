#include "oci/digest.h"

// The EVP interface would initialise OpenSSL's provider tables on first use: ~2 MB of resident
// code in a worker that needs nothing of it but SHA-256. The direct functions run the same
// assembly without that (they are deprecated in favour of EVP, not removed).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <fmt/format.h>
#include <openssl/sha.h>

namespace oak::oci {

namespace {

constexpr std::string_view kSha256Prefix = "sha256:";
constexpr size_t kSha256HexLength = 64;

std::string hex(const unsigned char* data, size_t length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace

Status checkDigest(std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("digest '{}' is not ALGORITHM:HEX", digest));
  }
  std::string_view algorithm = digest.substr(0, colon);
  if (algorithm != "sha256") {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("digest '{}': algorithm '{}' is not supported (only sha256)",
                                 digest, algorithm));
  }
  std::string_view hex_part = digest.substr(colon + 1);
  bool lower_hex = hex_part.size() == kSha256HexLength;
  for (char c : hex_part)
    lower_hex = lower_hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!lower_hex) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("digest '{}': sha256 needs 64 lowercase hex digits", digest));
  }
  return {};
}

struct Sha256::Ctx {
  SHA256_CTX sha;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  SHA256_Init(&ctx_->sha);
}

Sha256::~Sha256() = default;

Sha256::Sha256(const Sha256& other) : ctx_(std::make_unique<Ctx>(*other.ctx_)) {}

Sha256& Sha256::operator=(const Sha256& other) {
  *ctx_ = *other.ctx_;
  return *this;
}

void Sha256::update(std::string_view data) {
  SHA256_Update(&ctx_->sha, data.data(), data.size());
}

std::string Sha256::digest() const {
  // Finalising consumes the context, so finalise a copy and keep this one open.
  Ctx copy = *ctx_;
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256_Final(out, &copy.sha);
  return std::string(kSha256Prefix) + hex(out, sizeof out);
}

std::string sha256Digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

DigestVerifier::DigestVerifier(std::string kind, std::string digest, int64_t size)
    : kind_(std::move(kind)), digest_(std::move(digest)), size_(size) {}

void DigestVerifier::resume(const Sha256* prefix, int64_t length) {
  received_ = length;
  digest_known_ = prefix != nullptr;
  hash_ = prefix ? *prefix : Sha256();
}

Status DigestVerifier::update(std::string_view chunk) {
  received_ += static_cast<int64_t>(chunk.size());
  if (received_ > size_) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("{} {}: size mismatch (more than the expected {} bytes)", kind_,
                                 digest_, size_));
  }
  hash_.update(chunk);
  return {};
}

Status DigestVerifier::verify() const {
  if (received_ != size_) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("{} {}: size mismatch (got {} bytes, expected {})", kind_, digest_,
                                 received_, size_));
  }
  std::string got = hash_.digest();
  if (digest_known_ && got != digest_) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("{} {}: digest mismatch (got {})", kind_, digest_, got));
  }
  return {};
}

}  // namespace oak::oci
