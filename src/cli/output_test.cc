#include "cli/output.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::cli {
namespace {

TEST(OutputTest, ParsesFormats) {
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("yaml"), OutputFormat::kYaml);
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_THAT(ParseOutputFormat("xml").status().message(),
              ::testing::HasSubstr("expected table, json or yaml"));
}

TEST(OutputTest, TableAlignsColumnsAndWrapsTheLast) {
  Table t({"A", "LONGER", "NOTE"});
  t.AddRow({"x", "y", "one two three four five six"});
  t.AddRow({"wide cell", "", "short"});
  std::ostringstream out;
  t.Print(out, 35);
  EXPECT_EQ(out.str(),
            "A          LONGER  NOTE\n"
            "x          y       one two three four\n"
            "                   five six\n"
            "wide cell          short\n");
}

TEST(OutputTest, WrapKeepsLongWordsWhole) {
  EXPECT_EQ(Wrap("a verylongword b", 5, "  "), "a\n  verylongword\n  b");
}

TEST(OutputTest, YamlQuotesStringsThatWouldChangeType) {
  nlohmann::json doc = {{"version", "15.2"}, {"flag", "yes"},   {"n", 3},
                        {"name", "P40-8Q"},  {"none", nullptr}, {"list", {"a", "b"}}};
  std::ostringstream out;
  WriteYaml(doc, out);
  const std::string y = out.str();
  EXPECT_THAT(y, ::testing::HasSubstr("version: \"15.2\""));
  EXPECT_THAT(y, ::testing::HasSubstr("flag: \"yes\""));
  EXPECT_THAT(y, ::testing::HasSubstr("n: 3"));
  EXPECT_THAT(y, ::testing::HasSubstr("name: P40-8Q"));
  EXPECT_THAT(y, ::testing::HasSubstr("none: ~"));
}

TEST(OutputTest, WriteStructuredLeavesTablesToTheCaller) {
  std::ostringstream out;
  EXPECT_FALSE(WriteStructured(OutputFormat::kTable, {{"a", 1}}, out));
  EXPECT_TRUE(out.str().empty());
  EXPECT_TRUE(WriteStructured(OutputFormat::kJson, {{"a", 1}}, out));
  EXPECT_EQ(out.str(), "{\n  \"a\": 1\n}\n");
}

}  // namespace
}  // namespace gpufleet::cli
