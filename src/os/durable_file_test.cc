#include "os/durable_file.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace gpufleet::os {
namespace {

class DurableFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("durable_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string Read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::filesystem::path dir_;
};

TEST_F(DurableFileTest, CreatesReplacesAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(MakeDirectories(dir_.string()).ok());
  std::string path = (dir_ / "state.json").string();
  ASSERT_TRUE(WriteFileDurably(path, "one").ok());
  ASSERT_TRUE(WriteFileDurably(path, "two, longer").ok());
  EXPECT_EQ(Read(path), "two, longer");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(DurableFileTest, ReplacesASymlinkInsteadOfFollowingIt) {
  ASSERT_TRUE(MakeDirectories(dir_.string()).ok());
  std::string victim = (dir_ / "victim").string();
  ASSERT_TRUE(WriteFileDurably(victim, "keep").ok());
  std::string link = (dir_ / "state.json").string();
  std::filesystem::create_symlink(victim, link);
  ASSERT_TRUE(WriteFileDurably(link, "new").ok());
  EXPECT_EQ(Read(victim), "keep");
  EXPECT_FALSE(std::filesystem::is_symlink(link));
  EXPECT_EQ(Read(link), "new");
}

TEST_F(DurableFileTest, MissingDirectoryNamesThePath) {
  std::string path = (dir_ / "absent" / "state.json").string();
  absl::Status s = WriteFileDurably(path, "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("state.json.tmp"), std::string::npos) << s;
}

TEST_F(DurableFileTest, MakeDirectoriesRefusesAFile) {
  ASSERT_TRUE(MakeDirectories(dir_.string()).ok());
  ASSERT_TRUE(WriteFileDurably((dir_ / "f").string(), "x").ok());
  EXPECT_EQ(MakeDirectories((dir_ / "f").string()).code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(MakeDirectories((dir_ / "a" / "b").string()).ok());
}

}  // namespace
}  // namespace gpufleet::os
