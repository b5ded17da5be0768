#pragma once
// A certificate authority made at test time with OpenSSL, and server contexts whose
// certificates it signs.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace oak::oci::testing {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

class TestCa {
 public:
  TestCa();
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  bool ok() const { return cert_ != nullptr; }
  // The CA certificate, PEM.
  std::string pem() const;
  // A TLS server context with a certificate for `alt_names` ("DNS:localhost,IP:127.0.0.1");
  // null on failure.
  SslCtxPtr serverContext(const std::string& alt_names) const;

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

}  // namespace oak::oci::testing
