#ifndef GPUFLEET_STORE_STORE_TESTING_H_
#define GPUFLEET_STORE_STORE_TESTING_H_

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "os/clock.h"
#include "store/sqlite_store.h"

// Test helpers for src/store: a private temporary directory and a store opened in it.
namespace gpufleet::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "gpufleet_store.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline absl::Time TestEpoch() { return absl::FromUnixSeconds(1795910400); }  // 2026-11-29

inline SqliteStoreOptions TestOptions(const os::Clock& clock) {
  SqliteStoreOptions options;
  options.clock = &clock;
  options.busy_timeout = absl::Seconds(10);
  return options;
}

}  // namespace gpufleet::store::testing

#endif  // GPUFLEET_STORE_STORE_TESTING_H_
