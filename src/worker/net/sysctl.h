#pragma once
// Kernel parameters under /proc/sys. Network ones belong to the network namespace of the thread
// that opens the file, so these calls act on the caller's namespace.

#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::worker {

// `name` is the path below /proc/sys, e.g. "net/ipv6/conf/oak0/accept_ra" (interface names may
// contain dots, so the dotted form would be ambiguous). The value is trimmed.
Result<std::string> readSysctl(const std::string& name);

// Writes `value` unless the parameter already has it (so that an already right setting also works
// where /proc/sys is read-only).
Status writeSysctl(const std::string& name, std::string_view value);

}  // namespace oak::worker
