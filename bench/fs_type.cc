#include "bench/fs_type.h"

#include <sys/statfs.h>

#include <cstdio>

namespace gpufleet::bench {

std::string FsType(const std::string& path) {
  struct statfs s {};
  if (::statfs(path.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs (fsync is free: numbers meaningless)";
    case 0x794C7630:
      return "overlayfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "f_type 0x%lx", static_cast<unsigned long>(s.f_type));
      return buf;
    }
  }
}

}  // namespace gpufleet::bench
