#include "core/version.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::core {
namespace {

using ::testing::HasSubstr;

DriverVersion D(std::string_view s) { return *DriverVersion::Parse(s); }

TEST(DriverVersionTest, ComparesNumericallyNotLexically) {
  EXPECT_LT(D("525.60.13"), D("525.105.17"));
  EXPECT_LT(D("418.66"), D("418.240"));
  EXPECT_GT(D("535.54.06"), D("535.54.03"));
  EXPECT_EQ(D("460.106.00"), D("460.106"));
  EXPECT_LT(D("525"), D("525.60.13"));
  EXPECT_EQ(D("525.105.17").branch(), 525);
  EXPECT_EQ(D("525.105.17").ToString(), "525.105.17");
}

TEST(DriverVersionTest, RejectsMalformed) {
  for (std::string_view bad :
       {"", "r525", "525.", ".525", "525..1", "525.105.17.1.2", "-1", "525.1234567", "525.10a"}) {
    auto v = DriverVersion::Parse(bad);
    EXPECT_FALSE(v.ok()) << bad;
    EXPECT_THAT(v.status().message(), HasSubstr("like 525.105.17")) << bad;
  }
}

TEST(ReleaseVersionTest, ParsesReleasesAndBranches) {
  EXPECT_EQ(ReleaseVersion::Parse("15.2")->ToString(), "15.2");
  EXPECT_EQ(ReleaseVersion::Parse("16.10")->minor(), 10);
  EXPECT_TRUE(ReleaseVersion::Parse("15")->is_branch_only());
  EXPECT_EQ(ReleaseVersion::Parse("15.x")->ToString(), "15.x");
  EXPECT_LT(*ReleaseVersion::Parse("16.9"), *ReleaseVersion::Parse("16.10"));
  EXPECT_LT(*ReleaseVersion::Parse("15.x"), *ReleaseVersion::Parse("15.0"));
  EXPECT_FALSE(ReleaseVersion::Parse("15.2.1").ok());
  EXPECT_FALSE(ReleaseVersion::Parse("v15").ok());
}

TEST(CudaVersionTest, AcceptsEverySpellingOfAnUpdate) {
  EXPECT_EQ(*CudaVersion::Parse("12.1 Update 1"), CudaVersion(12, 1, 1));
  EXPECT_EQ(*CudaVersion::Parse("12.1.1"), CudaVersion(12, 1, 1));
  EXPECT_EQ(*CudaVersion::Parse("12.1 GA"), CudaVersion(12, 1, 0));
  EXPECT_EQ(*CudaVersion::Parse("12.1"), CudaVersion(12, 1, 0));
  EXPECT_EQ(CudaVersion(12, 1, 0).ToString(), "12.1");
  EXPECT_EQ(CudaVersion(12, 1, 1).ToString(), "12.1.1");
  EXPECT_LT(*CudaVersion::Parse("12.9"), *CudaVersion::Parse("12.10"));
  for (std::string_view bad : {"12", "12.1 Update", "12.1.1 Update 2", "12.1 beta", "twelve"}) {
    EXPECT_FALSE(CudaVersion::Parse(bad).ok()) << bad;
  }
}

TEST(CivilDateTest, ParsesAndComparesWithMonths) {
  auto d = CivilDate::Parse("2026-11-28");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->After(YearMonth{2026, 7}));
  EXPECT_FALSE(d->After(YearMonth{2026, 11}));
  EXPECT_FALSE(CivilDate::Parse("2026-02-30").ok());
  EXPECT_TRUE(CivilDate::Parse("2028-02-29").ok());
  EXPECT_FALSE(CivilDate::Parse("28.11.2026").ok());
  EXPECT_EQ(YearMonth::Parse("2026-07")->ToString(), "2026-07");
  EXPECT_FALSE(YearMonth::Parse("2026-13").ok());
}

}  // namespace
}  // namespace gpufleet::core
