#pragma once
// The dynamic security plugin's account file (`plugin_opt_config_file`), as the cluster writes it
// before its broker starts: the cluster's admin account with a role that may do everything
// (including the plugin's control topic) and one account per worker without roles — a worker's
// topics are confined by the broker's ACL file patterns (`%u`), which the plugin defers to for
// accounts that have no roles (2.0's plugin has no `%u` in its own ACLs).
//
// Passwords are stored as the plugin stores them: PBKDF2-HMAC-SHA512 with a 12-byte random salt,
// 64-byte hash, both base64, and the iteration count (the plugin uses 101 for passwords it sets).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::mqtt::dynsec {

inline constexpr int kIterations = 101;
inline constexpr std::string_view kAdminRole = "cluster-admin";

struct PasswordHash {
  std::string hash;  // base64 of 64 bytes
  std::string salt;  // base64 of 12 bytes
  int iterations = kIterations;
};

// A fresh salt every call.
PasswordHash hashPassword(std::string_view password);
// False also for a malformed entry (bad base64, wrong lengths, iterations < 1).
bool verifyPassword(const PasswordHash& stored, std::string_view password);

struct Account {
  std::string username;
  std::string password;
  std::string client_id;  // empty: any client id
};

// What bringing a file in line changed.
struct SyncReport {
  size_t kept = 0;     // entries whose password and client id already matched
  size_t created = 0;  // accounts that were missing
  size_t updated = 0;  // new password or client id
  size_t removed = 0;  // entries of accounts no longer wanted
};

// The file holding exactly `admin` (with the admin role) and `accounts`. `existing` is the
// current file, if any: entries whose password still verifies keep their hash (no re-hashing of
// thousands of accounts at every start), everything else in it is replaced — the file belongs
// to the cluster. kInvalidArgument for an existing file that is not the plugin's JSON.
Result<std::string> syncConfig(std::optional<std::string_view> existing, const Account& admin,
                               const std::vector<Account>& accounts, SyncReport* report = nullptr);

}  // namespace oak::mqtt::dynsec
