#include "absl/status/status.h"
#include "common/strings.h"
#include "os/file_system.h"

namespace gpufleet::os {
namespace {

std::string DirPrefix(std::string_view path) {
  std::string p(path);
  if (p.empty() || p.back() != '/') p += '/';
  return p;
}

}  // namespace

void MemoryFileSystem::AddFile(std::string path, std::string contents) {
  files_[std::move(path)] = std::move(contents);
}

absl::StatusOr<std::string> MemoryFileSystem::ReadFile(std::string_view path,
                                                       std::size_t max_bytes) const {
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (IsDirectory(path)) {
      return absl::FailedPreconditionError(StrCat("cannot read ", path, ": is a directory"));
    }
    return absl::NotFoundError(StrCat("cannot read ", path, ": No such file or directory"));
  }
  if (it->second.size() > max_bytes) {
    return absl::FailedPreconditionError(
        StrCat("cannot read ", path, ": larger than the limit of ", max_bytes, " bytes"));
  }
  return it->second;
}

absl::StatusOr<std::vector<std::string>> MemoryFileSystem::ListDirectory(
    std::string_view path) const {
  std::string prefix = DirPrefix(path);
  std::vector<std::string> names;
  for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix);
       ++it) {
    std::string rest = it->first.substr(prefix.size());
    std::string name = rest.substr(0, rest.find('/'));
    if (names.empty() || names.back() != name) names.push_back(name);
  }
  if (names.empty()) {
    return absl::NotFoundError(StrCat("cannot list ", path, ": No such file or directory"));
  }
  return names;
}

bool MemoryFileSystem::IsDirectory(std::string_view path) const {
  std::string prefix = DirPrefix(path);
  auto it = files_.lower_bound(prefix);
  return it != files_.end() && it->first.starts_with(prefix);
}

bool MemoryFileSystem::Exists(std::string_view path) const {
  return files_.contains(path) || IsDirectory(path);
}

}  // namespace gpufleet::os
