#include "common/json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet {
namespace {

using ::testing::HasSubstr;

TEST(JsonTest, ParseErrorsNameSourceAndPosition) {
  auto j = ParseJson("{\"a\": 1,\n \"b\": }", "boards.json");
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(j.status().message(), HasSubstr("boards.json: invalid JSON"));
  EXPECT_THAT(j.status().message(), HasSubstr("line 2"));
}

TEST(JsonReaderTest, ReadsTypedFieldsAndRejectsUnknownKeys) {
  auto j = *ParseJson(R"({"name":"P40","n":3,"ok":true,"tags":["a","b"],"typo":1})", "x");
  JsonReader r(j, "boards[0]");
  EXPECT_EQ(r.String("name"), "P40");
  EXPECT_EQ(r.Int("n", 0, 10), 3);
  EXPECT_TRUE(r.Bool("ok"));
  EXPECT_EQ(r.StringList("tags").size(), 2u);
  EXPECT_EQ(r.OptString("missing"), std::nullopt);
  absl::Status s = r.Finish();
  EXPECT_THAT(s.message(), HasSubstr("boards[0].typo: unknown field"));
}

TEST(JsonReaderTest, ReportsFirstTypeErrorWithPath) {
  auto j = *ParseJson(R"({"n":"three","m":99})", "x");
  JsonReader r(j, "types[2]");
  (void)r.Int("n", 0, 10);
  (void)r.Int("m", 0, 10);
  EXPECT_THAT(r.Finish().message(), HasSubstr("types[2].n: expected an integer, got string"));
}

TEST(JsonReaderTest, RangeAndMissing) {
  auto j = *ParseJson(R"({"m":99})", "x");
  JsonReader r(j, "");
  (void)r.Int("m", 0, 10);
  EXPECT_THAT(r.Finish().message(), HasSubstr("m: expected an integer in 0..10, got 99"));
  JsonReader r2(j, "row");
  (void)r2.Int("m", 0, 100);
  (void)r2.String("name");
  (void)r2.Int("count", 0, 1);
  EXPECT_THAT(std::string(r2.Finish().message()), HasSubstr("row.name: required field is missing"));
  JsonReader r3(j, "row");
  (void)r3.Int("m", 0, 100);
  (void)r3.Int("count", 0, 1);
  EXPECT_THAT(std::string(r3.Finish().message()),
              HasSubstr("row.count: required field is missing"));
}

TEST(JsonReaderTest, NonObjectIsAnError) {
  auto j = *ParseJson("[1]", "x");
  JsonReader r(j, "boards[0]");
  EXPECT_THAT(r.Finish().message(), HasSubstr("boards[0]: expected an object, got array"));
}

}  // namespace
}  // namespace gpufleet
