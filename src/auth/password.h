#pragma once
// Password hashing with Argon2id (libsodium). Hashes are self-describing PHC strings
// ("$argon2id$v=19$m=65536,t=2,p=1$..."), so parameters can be raised later without a migration.

#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::auth {

struct PasswordCost {
  unsigned long long ops;  // Argon2 passes
  size_t memory_bytes;
  static PasswordCost interactive();  // the product's default (about 64 MiB)
  static PasswordCost minimal();      // for unit tests only
};

Result<std::string> hashPassword(std::string_view password,
                                 PasswordCost cost = PasswordCost::interactive());
bool verifyPassword(std::string_view hash, std::string_view password);

// Compares secrets in time independent of where they differ.
bool equalSecrets(std::string_view a, std::string_view b);

// Random bytes as lower-case hex, for keys and tokens.
std::string randomHex(size_t bytes);

}  // namespace oak::auth
