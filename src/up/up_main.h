#pragma once
// `oakestra up`: root, one cluster and one worker on this machine from one command, as child
// processes of this one (the same binary), plus containerd when it is not running. Prints where
// the API is, how to log in and how to join more workers; Ctrl-C stops what it started, and
// running it again resumes from the same data directory.

#include "up/options.h"

namespace oak::up {

int runUp(UpOptions options);

}  // namespace oak::up
