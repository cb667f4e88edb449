#include "api/json_body.h"

#include <string>

#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;

std::string Nested(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

TEST(JsonBodyTest, ParsesWithinTheLimit) {
  absl::StatusOr<nlohmann::json> j = ParseJsonBody(R"({"a": [1, {"b": "x"}]})");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["a"][1]["b"], "x");
  EXPECT_TRUE(ParseJsonBody(Nested(64)).ok());
}

TEST(JsonBodyTest, RejectsTooDeepBeforeParsing) {
  absl::Status s = ParseJsonBody(Nested(65)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nested deeper than 64 levels at line 1, column 65"));
  EXPECT_EQ(FieldOf(s), "body");
  // Far too deep for a recursive parser; the pre-scan stops at the limit.
  EXPECT_FALSE(ParseJsonBody(std::string(1 << 20, '[')).ok());
}

TEST(JsonBodyTest, BracketsInStringsDoNotCount) {
  std::string s = R"({"a": "[[[[[[\"[[[[", "b": 1})";
  EXPECT_TRUE(ParseJsonBody(s, 1).ok());
  int line = 0;
  int column = 0;
  EXPECT_EQ(ScanJsonDepth(s, 1, &line, &column), 1);
  EXPECT_EQ(ScanJsonDepth("{\n [\n  {}]}", 2, &line, &column), 3);
  EXPECT_EQ(line, 3);
  EXPECT_EQ(column, 3);
}

TEST(JsonBodyTest, ErrorsNameLineAndColumn) {
  absl::Status s = ParseJsonBody("{\n  \"a\": ]}").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("request body: invalid JSON"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("line 2, column "));
  EXPECT_EQ(FieldOf(s), "body");
}

TEST(JsonBodyTest, RejectsEmptyBody) {
  EXPECT_THAT(ParseJsonBody("  \n").status().message(), HasSubstr("empty body"));
}

}  // namespace
}  // namespace gpufleet::api
