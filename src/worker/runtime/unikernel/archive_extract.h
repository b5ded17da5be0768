#pragma once
// Unpacks an untrusted kernel bundle (tar, optionally compressed) into an empty directory,
// refusing anything that could write or point outside it: absolute paths, `..`, entries below a
// symlink, symlinks whose target leaves the folder, hard links to anything but a file already
// unpacked, devices, FIFOs and sockets, and more than `max_bytes` of content.

#include <cstdint>
#include <string>

#include "common/result.h"

namespace oak::worker::unikernel {

struct ExtractLimits {
  uint64_t max_bytes = 512ull * 1024 * 1024;  // unpacked content
  uint64_t max_entries = 100'000;
};

// kUnprocessable "archive: <entry>: <what is wrong>" for hostile or corrupt input; kInternal for
// our own I/O failures. `dest` must exist; on failure it may hold part of the content.
Status extractArchive(const std::string& archive, const std::string& dest,
                      const ExtractLimits& limits = {});

}  // namespace oak::worker::unikernel
