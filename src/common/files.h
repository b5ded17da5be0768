#pragma once
// File helpers for the data directory: secrets and state are written atomically (temp file,
// fsync, rename) with explicit modes, so a crash never leaves a half-written key.

#include <string>

#include "common/result.h"

namespace oak::files {

Status ensureDirectory(const std::string& path, unsigned mode = 0700);
Result<std::string> read(const std::string& path);
bool exists(const std::string& path);
Status writeAtomic(const std::string& path, std::string_view content, unsigned mode = 0600);

}  // namespace oak::files
