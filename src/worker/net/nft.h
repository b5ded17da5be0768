#pragma once
// Running nftables scripts through libnftables, in the network namespace of the calling thread.

#include <string>

#include "common/result.h"

namespace oak::worker {

// Runs `script` as one transaction. Errors are "<what>: <libnftables' first error> (<command>)",
// kConflict when it says "File exists".
Status runNft(const std::string& script, const std::string& what);
// Runs one command and returns what it printed ("list counter inet t c").
Result<std::string> nftOutput(const std::string& command, const std::string& what);

}  // namespace oak::worker
