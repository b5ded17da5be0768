#include "mqtt/dynsec_config.h"

#include <sodium.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>

#include "common/json.h"

namespace oak::mqtt::dynsec {

namespace bj = boost::json;

namespace {

constexpr size_t kHashBytes = 64;  // SHA-512
constexpr size_t kSaltBytes = 12;

void initSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: nothing safe to do
  });
}

// PBKDF2-HMAC-SHA512 with one output block (64 bytes), which is all the plugin uses.
std::array<unsigned char, kHashBytes> pbkdf2(std::string_view password, const unsigned char* salt,
                                             size_t salt_len, int iterations) {
  crypto_auth_hmacsha512_state keyed;
  crypto_auth_hmacsha512_init(&keyed, reinterpret_cast<const unsigned char*>(password.data()),
                              password.size());
  std::array<unsigned char, kHashBytes> u{}, out{};
  crypto_auth_hmacsha512_state s = keyed;
  const unsigned char block_index[4] = {0, 0, 0, 1};
  crypto_auth_hmacsha512_update(&s, salt, salt_len);
  crypto_auth_hmacsha512_update(&s, block_index, sizeof(block_index));
  crypto_auth_hmacsha512_final(&s, u.data());
  out = u;
  for (int i = 1; i < iterations; ++i) {
    s = keyed;  // the keyed state is copied, not re-derived, for every iteration
    crypto_auth_hmacsha512_update(&s, u.data(), u.size());
    crypto_auth_hmacsha512_final(&s, u.data());
    for (size_t k = 0; k < out.size(); ++k) out[k] ^= u[k];
  }
  sodium_memzero(&keyed, sizeof(keyed));
  sodium_memzero(&s, sizeof(s));
  return out;
}

std::string toBase64(const unsigned char* bytes, size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Exactly `n` bytes, or false.
bool fromBase64(std::string_view text, unsigned char* out, size_t n) {
  size_t len = 0;
  std::vector<unsigned char> buf(text.size());
  if (sodium_base642bin(buf.data(), buf.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != n) {
    return false;
  }
  std::memcpy(out, buf.data(), n);
  return true;
}

struct Entry {
  PasswordHash hash;
  std::string client_id;
};

Result<std::map<std::string, Entry>> readEntries(std::string_view text) {
  auto bad = [](std::string what) {
    return makeError(ErrorCode::kInvalidArgument, "dynamic security file: " + what);
  };
  auto v = json::parse(text);
  if (!v) return bad(v.error().message);
  if (!v->is_object()) return bad("not a JSON object");
  std::map<std::string, Entry> out;
  const auto* clients = json::findArray(v->get_object(), "clients");
  if (clients == nullptr) return out;
  for (const auto& c : *clients) {
    if (!c.is_object()) return bad("clients: an entry is not an object");
    const auto& o = c.get_object();
    auto username = json::getString(o, "username");
    if (!username) return bad("clients: an entry has no username");
    Entry e;
    e.hash.hash = json::getString(o, "password").value_or("");
    e.hash.salt = json::getString(o, "salt").value_or("");
    e.hash.iterations = static_cast<int>(json::getInt(o, "iterations").value_or(0));
    e.client_id = json::getString(o, "clientid").value_or("");
    out[*username] = std::move(e);
  }
  return out;
}

bj::object adminRole() {
  bj::array acls;
  // `#` never matches `$` topics, so the plugin's control topics are granted by name.
  for (const char* topic : {"#", "$CONTROL/dynamic-security/#"}) {
    for (const char* type :
         {"publishClientSend", "publishClientReceive", "subscribePattern", "unsubscribePattern"}) {
      acls.push_back(bj::object{{"acltype", type}, {"topic", topic}, {"allow", true}});
    }
  }
  return {{"rolename", kAdminRole}, {"acls", std::move(acls)}};
}

bj::object clientEntry(const std::string& username, const Entry& e, bool admin) {
  bj::object c{{"username", username},
               {"password", e.hash.hash},
               {"salt", e.hash.salt},
               {"iterations", e.hash.iterations}};
  if (!e.client_id.empty()) c["clientid"] = e.client_id;
  c["roles"] = admin ? bj::array{bj::object{{"rolename", kAdminRole}}} : bj::array{};
  return c;
}

}  // namespace

PasswordHash hashPassword(std::string_view password) {
  initSodium();
  unsigned char salt[kSaltBytes];
  randombytes_buf(salt, sizeof(salt));
  auto hash = pbkdf2(password, salt, sizeof(salt), kIterations);
  return {toBase64(hash.data(), hash.size()), toBase64(salt, sizeof(salt)), kIterations};
}

bool verifyPassword(const PasswordHash& stored, std::string_view password) {
  unsigned char salt[kSaltBytes];
  unsigned char expected[kHashBytes];
  if (stored.iterations < 1 || !fromBase64(stored.salt, salt, sizeof(salt)) ||
      !fromBase64(stored.hash, expected, sizeof(expected))) {
    return false;
  }
  auto actual = pbkdf2(password, salt, sizeof(salt), stored.iterations);
  return sodium_memcmp(actual.data(), expected, sizeof(expected)) == 0;
}

Result<std::string> syncConfig(std::optional<std::string_view> existing, const Account& admin,
                               const std::vector<Account>& accounts, SyncReport* report) {
  std::map<std::string, Entry> old;
  if (existing) {
    OAK_ASSIGN_OR_RETURN(old, readEntries(*existing));
  }
  SyncReport r;
  // Sorted by user name, as the plugin itself writes them.
  std::map<std::string, std::pair<const Account*, bool>> wanted;
  for (const auto& a : accounts) wanted[a.username] = {&a, false};
  wanted[admin.username] = {&admin, true};

  bj::array clients;
  clients.reserve(wanted.size());
  for (const auto& [username, want] : wanted) {
    const Account& a = *want.first;
    Entry e;
    auto it = old.find(username);
    if (it == old.end()) {
      e.hash = hashPassword(a.password);
      ++r.created;
    } else {
      bool same_password = verifyPassword(it->second.hash, a.password);
      e.hash = same_password ? it->second.hash : hashPassword(a.password);
      bool same = same_password && it->second.client_id == a.client_id;
      ++(same ? r.kept : r.updated);
    }
    e.client_id = a.client_id;
    clients.push_back(clientEntry(username, e, want.second));
  }
  for (const auto& [username, e] : old) r.removed += wanted.count(username) == 0 ? 1 : 0;

  bj::object doc{{"defaultACLAccess", bj::object{{"publishClientSend", false},
                                                 {"publishClientReceive", false},
                                                 {"subscribe", false},
                                                 {"unsubscribe", false}}},
                 {"clients", std::move(clients)},
                 {"groups", bj::array{}},
                 {"roles", bj::array{adminRole()}}};
  if (report) *report = r;
  return bj::serialize(doc);
}

}  // namespace oak::mqtt::dynsec
