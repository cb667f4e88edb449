#ifndef GPUFLEET_OS_FILE_SYSTEM_H_
#define GPUFLEET_OS_FILE_SYSTEM_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gpufleet::os {

// Every file access of gpufleet goes through this interface, so tests can run the real code over
// a directory tree built like the kernel's (sysfs) or over memory. Paths are absolute ("/sys/...")
// and are resolved below the implementation's root. Implementations are thread-compatible.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Reads a whole file. Fails with NotFound if it is missing, FailedPrecondition if it is larger
  // than `max_bytes` (inputs are bounded everywhere), and Internal for other I/O errors; messages
  // name the path and the reason.
  virtual absl::StatusOr<std::string> ReadFile(std::string_view path,
                                               std::size_t max_bytes) const = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDirectory(std::string_view path) const = 0;
  virtual bool IsDirectory(std::string_view path) const = 0;
  virtual bool Exists(std::string_view path) const = 0;
};

// The real file system, with every path taken relative to `root` ("/" in production, a temp dir
// holding a fake sysfs tree in tests). Relative paths are taken relative to the process's current
// directory when root is "/".
std::unique_ptr<FileSystem> NewPosixFileSystem(std::string root = "/");

// An in-memory file system for tests: a map from path to contents; directories are implied.
class MemoryFileSystem final : public FileSystem {
 public:
  void AddFile(std::string path, std::string contents);

  absl::StatusOr<std::string> ReadFile(std::string_view path, std::size_t max_bytes) const override;
  absl::StatusOr<std::vector<std::string>> ListDirectory(std::string_view path) const override;
  bool IsDirectory(std::string_view path) const override;
  bool Exists(std::string_view path) const override;

 private:
  std::map<std::string, std::string, std::less<>> files_;
};

}  // namespace gpufleet::os

#endif  // GPUFLEET_OS_FILE_SYSTEM_H_
