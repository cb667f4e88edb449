#include "os/file_system.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::os {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PosixFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "fs_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    std::filesystem::create_directories(root_ + "/sys/class");
    std::ofstream(root_ + "/sys/class/b") << "bee";
    std::ofstream(root_ + "/sys/class/a") << "ay\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(PosixFileSystemTest, ResolvesBelowRoot) {
  auto fs = NewPosixFileSystem(root_);
  EXPECT_EQ(*fs->ReadFile("/sys/class/a", 100), "ay\n");
  EXPECT_THAT(*fs->ListDirectory("/sys/class"), ElementsAre("a", "b"));
  EXPECT_TRUE(fs->IsDirectory("/sys"));
  EXPECT_TRUE(fs->Exists("/sys/class/b"));
  EXPECT_FALSE(fs->Exists("/sys/class/c"));
}

TEST_F(PosixFileSystemTest, ErrorsNamePathAndReason) {
  auto fs = NewPosixFileSystem(root_);
  auto missing = fs->ReadFile("/sys/class/c", 100);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/sys/class/c"));
  auto big = fs->ReadFile("/sys/class/b", 2);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(big.status().message(), HasSubstr("limit of 2 bytes"));
  EXPECT_THAT(fs->ReadFile("/sys", 100).status().message(), HasSubstr("is a directory"));
}

TEST(MemoryFileSystemTest, ImpliesDirectories) {
  MemoryFileSystem fs;
  fs.AddFile("/d/x/1", "one");
  fs.AddFile("/d/y", "why");
  EXPECT_THAT(*fs.ListDirectory("/d"), ElementsAre("x", "y"));
  EXPECT_TRUE(fs.IsDirectory("/d/x"));
  EXPECT_EQ(*fs.ReadFile("/d/y", 10), "why");
  EXPECT_EQ(fs.ReadFile("/d/z", 10).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gpufleet::os
