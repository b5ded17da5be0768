#pragma once
// Content addressing. Only sha256 is accepted: other algorithms are refused by name instead of
// being trusted unchecked. OpenSSL stays inside digest.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::oci {

// "sha256:" followed by 64 lowercase hex digits; kUnprocessable saying what is wrong otherwise.
Status checkDigest(std::string_view digest);

// "sha256:<hex>" of `data`.
std::string sha256Digest(std::string_view data);

// Incremental sha256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256& other);
  Sha256& operator=(const Sha256& other);

  void update(std::string_view data);
  // "sha256:<hex>" of everything fed so far; more data may follow.
  std::string digest() const;

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Checks content that arrives in chunks against an expected digest and size. `kind` names the
// content in errors ("blob", "manifest", "config").
class DigestVerifier {
 public:
  DigestVerifier(std::string kind, std::string digest, int64_t size);

  // Continues after `length` bytes the caller already has; `prefix` is their hash, or null when
  // unknown (then only the size can be checked).
  void resume(const Sha256* prefix, int64_t length);
  // Fails as soon as more than the expected size has arrived.
  Status update(std::string_view chunk);
  int64_t received() const { return received_; }
  // kUnprocessable "blob sha256:...: digest mismatch (got sha256:...)" or a size mismatch.
  Status verify() const;

 private:
  std::string kind_;
  std::string digest_;
  int64_t size_;
  int64_t received_ = 0;
  bool digest_known_ = true;
  Sha256 hash_;
};

}  // namespace oak::oci
