#ifndef GPUFLEET_OS_DURABLE_FILE_H_
#define GPUFLEET_OS_DURABLE_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace gpufleet::os {

// Replaces the file at `path` with `contents` so that a crash at any moment leaves either the old
// or the new file, never a mix: write a temporary file beside it, fsync it, rename it over `path`,
// fsync the directory. The file gets `mode` (0600 for secrets). Symbolic links at `path` are
// replaced, not followed. Errors name the path and the step that failed.
absl::Status WriteFileDurably(const std::string& path, std::string_view contents,
                              unsigned mode = 0600);

// Creates `path` (and missing parents) as directories with `mode`; an existing directory is fine.
absl::Status MakeDirectories(const std::string& path, unsigned mode = 0700);

}  // namespace gpufleet::os

#endif  // GPUFLEET_OS_DURABLE_FILE_H_
