#include "common/strings.h"

#include "gtest/gtest.h"

namespace gpufleet {
namespace {

TEST(StringsTest, CaseHelpers) {
  EXPECT_EQ(AsciiLower("P40-8Q"), "p40-8q");
  EXPECT_EQ(AsciiUpper("grid_p40"), "GRID_P40");
  EXPECT_TRUE(EqualsIgnoreCase("RTX6000-Ada", "rtx6000-ADA"));
  EXPECT_FALSE(EqualsIgnoreCase("P40", "P4"));
  EXPECT_EQ(StripAsciiWhitespace("  x y\n"), "x y");
}

TEST(StringsTest, ParseNonNegativeInt) {
  EXPECT_EQ(ParseNonNegativeInt("0"), 0);
  EXPECT_EQ(ParseNonNegativeInt("2147483647"), 2147483647);
  EXPECT_EQ(ParseNonNegativeInt("2147483648"), std::nullopt);
  EXPECT_EQ(ParseNonNegativeInt("-1"), std::nullopt);
  EXPECT_EQ(ParseNonNegativeInt(""), std::nullopt);
  EXPECT_EQ(ParseNonNegativeInt("1x"), std::nullopt);
}

TEST(StringsTest, ClosestMatchSuggestsPlausibleTypos) {
  std::vector<std::string> names = {"P40-8Q", "P40-3Q", "A40-8Q", "T4-16Q"};
  EXPECT_EQ(ClosestMatch("P40-9Q", names), "P40-8Q");
  EXPECT_EQ(ClosestMatch("p40-3q", names), "P40-3Q");
  EXPECT_EQ(ClosestMatch("completely-unrelated", names), std::nullopt);
}

TEST(StringsTest, QuoteForMessageEscapesAndTruncates) {
  EXPECT_EQ(QuoteForMessage("a\nb"), "'a\\x0ab'");
  EXPECT_EQ(QuoteForMessage("abcdef", 3), "'abc...'");
}

}  // namespace
}  // namespace gpufleet
