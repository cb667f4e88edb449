#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/status/status.h"
#include "common/strings.h"
#include "os/file_system.h"

namespace gpufleet::os {
namespace {

absl::Status ErrnoToStatus(int err, std::string_view what, std::string_view path) {
  std::string msg = StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

class PosixFileSystem final : public FileSystem {
 public:
  explicit PosixFileSystem(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  absl::StatusOr<std::string> ReadFile(std::string_view path,
                                       std::size_t max_bytes) const override {
    std::string full = Resolve(path);
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0) return ErrnoToStatus(errno, "cannot read", path);
    if (S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(StrCat("cannot read ", path, ": is a directory"));
    }
    std::ifstream in(full, std::ios::binary);
    if (!in) return ErrnoToStatus(errno, "cannot open", path);
    std::string data;
    // sysfs files report size 4096 regardless of content, so read in chunks up to the limit.
    char buf[8192];
    while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
      data.append(buf, static_cast<std::size_t>(in.gcount()));
      if (data.size() > max_bytes) {
        return absl::FailedPreconditionError(
            StrCat("cannot read ", path, ": larger than the limit of ", max_bytes, " bytes"));
      }
    }
    if (in.bad()) return absl::InternalError(StrCat("I/O error reading ", path));
    return data;
  }

  absl::StatusOr<std::vector<std::string>> ListDirectory(std::string_view path) const override {
    std::error_code ec;
    std::vector<std::string> names;
    for (auto it = std::filesystem::directory_iterator(Resolve(path), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return ErrnoToStatus(ec.value(), "cannot list", path);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool IsDirectory(std::string_view path) const override {
    std::error_code ec;
    return std::filesystem::is_directory(Resolve(path), ec);
  }

  bool Exists(std::string_view path) const override {
    std::error_code ec;
    return std::filesystem::exists(Resolve(path), ec);
  }

 private:
  std::string Resolve(std::string_view path) const {
    if (root_ == "/") return std::string(path);
    if (!path.empty() && path.front() == '/') return StrCat(root_, path);
    return StrCat(root_, "/", path);
  }

  std::string root_;
};

}  // namespace

std::unique_ptr<FileSystem> NewPosixFileSystem(std::string root) {
  return std::make_unique<PosixFileSystem>(std::move(root));
}

}  // namespace gpufleet::os
