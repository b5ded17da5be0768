#pragma once
// `oak`, the user's command-line client of the root orchestrator, as a function of its arguments
// and its world, so that tests run it against a fake root.

#include "cli/oak/command_context.h"

namespace oak::cli {

// Parses `argv` and runs the command. Exit codes: 0 done, 1 failed (the reason on stderr in one
// line, "oak: ..."), 2 bad usage.
int runOak(int argc, const char* const* argv, CommandContext& ctx);

}  // namespace oak::cli
