#ifndef GPUFLEET_BENCH_FS_TYPE_H_
#define GPUFLEET_BENCH_FS_TYPE_H_

#include <string>

namespace gpufleet::bench {

// The file system type under `path` ("ext4", "tmpfs (fsync is free: numbers meaningless)", ...),
// printed beside every figure that depends on fsync.
[[nodiscard]] std::string FsType(const std::string& path);

}  // namespace gpufleet::bench

#endif  // GPUFLEET_BENCH_FS_TYPE_H_
