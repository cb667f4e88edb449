#include "os/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/strings.h"

namespace gpufleet::os {
namespace {

absl::Status Failure(std::string_view path, std::string_view step, int err) {
  return absl::InternalError(StrCat(path, ": cannot ", step, ": ", std::strerror(err)));
}

absl::Status WriteAll(int fd, std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError(std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Failure(dir, "open directory", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Failure(dir, "sync directory", err);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileDurably(const std::string& path, std::string_view contents, unsigned mode) {
  std::filesystem::path target(path);
  std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string temp = StrCat(path, ".tmp.", ::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Failure(temp, "create", errno);
  auto abandon = [&](absl::Status status) {
    ::close(fd);
    ::unlink(temp.c_str());
    return status;
  };
  if (::fchmod(fd, mode) != 0) return abandon(Failure(temp, "set mode", errno));
  if (absl::Status s = WriteAll(fd, contents); !s.ok()) {
    return abandon(absl::InternalError(StrCat(temp, ": cannot write: ", s.message())));
  }
  if (::fsync(fd) != 0) return abandon(Failure(temp, "sync", errno));
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Failure(temp, "close", err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Failure(path, "replace", err);
  }
  return SyncDirectory(dir);
}

absl::Status MakeDirectories(const std::string& path, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return absl::InternalError(StrCat(path, ": cannot create directory: ", ec.message()));
  if (!std::filesystem::is_directory(path, ec)) {
    return absl::FailedPreconditionError(StrCat(path, ": exists and is not a directory"));
  }
  if (::chmod(path.c_str(), mode) != 0) return Failure(path, "set mode", errno);
  return absl::OkStatus();
}

}  // namespace gpufleet::os
