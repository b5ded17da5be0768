#include "test_tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace oak::oci::testing {

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool added = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return added;
}

// An unsigned certificate for `key` named `cn`, issued by `issuer` (itself when null).
X509* makeCertificate(EVP_PKEY* key, const char* cn, X509* issuer, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  return cert;
}

}  // namespace

TestCa::TestCa() {
  key_ = EVP_EC_gen("P-256");
  if (!key_) return;
  std::unique_ptr<X509, X509Free> cert(makeCertificate(key_, "oak test CA", nullptr, 1));
  bool ok = addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE") &&
            addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") &&
            addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") &&
            X509_sign(cert.get(), key_, EVP_sha256()) > 0;
  if (ok) cert_ = cert.release();
}

TestCa::~TestCa() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

std::string TestCa::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert_);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

SslCtxPtr TestCa::serverContext(const std::string& alt_names) const {
  static long serial = 100;
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  if (!key || !cert_) return nullptr;
  std::unique_ptr<X509, X509Free> cert(
      makeCertificate(key.get(), "oak test server", cert_, ++serial));
  bool ok = addExtension(cert.get(), cert_, NID_subject_alt_name, alt_names.c_str()) &&
            addExtension(cert.get(), cert_, NID_ext_key_usage, "serverAuth") &&
            X509_sign(cert.get(), key_, EVP_sha256()) > 0;
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ok || !ctx || SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
    return nullptr;
  }
  return ctx;
}

}  // namespace oak::oci::testing
