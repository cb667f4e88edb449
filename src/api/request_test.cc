#include "api/request.h"

#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

Request WithQuery(std::string_view query) {
  Request r;
  r.query = *ParseQuery(query);
  return r;
}

TEST(HeadersTest, CaseInsensitiveLookupAndSet) {
  Headers h;
  h.Add("Content-Type", "a");
  h.Add("X-Thing", "1");
  EXPECT_EQ(h.Get("content-type"), "a");
  h.Set("CONTENT-TYPE", "b");
  EXPECT_EQ(h.Get("Content-Type"), "b");
  EXPECT_EQ(h.fields().size(), 2u);
  EXPECT_FALSE(h.Has("Missing"));
}

TEST(QueryTest, DecodesInOrder) {
  absl::StatusOr<QueryParams> q = ParseQuery("a=1&b=x%20y+z&flag&a=2&&e=");
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(*q, ElementsAre(Pair("a", "1"), Pair("b", "x y z"), Pair("flag", ""), Pair("a", "2"),
                              Pair("e", "")));
  absl::Status bad = ParseQuery("a=%4").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(bad), "query");
}

TEST(PercentDecodeTest, Escapes) {
  EXPECT_EQ(PercentDecode("a%2fb", false), "a/b");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%g0", false), std::nullopt);
  EXPECT_EQ(PercentDecode("ab%4", false), std::nullopt);
}

TEST(PageRequestTest, Defaults) {
  absl::StatusOr<PageRequest> page = ParsePageRequest(WithQuery(""));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->limit, 100);
  EXPECT_EQ(page->cursor, "");
}

TEST(PageRequestTest, ReadsLimitAndCursor) {
  absl::StatusOr<PageRequest> page = ParsePageRequest(WithQuery("limit=1000&cursor=aGVsbG8="));
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->limit, 1000);
  EXPECT_EQ(page->cursor, "aGVsbG8=");
}

TEST(PageRequestTest, ErrorsNameTheField) {
  for (std::string_view q :
       {"limit=0", "limit=1001", "limit=abc", "limit=-1", "limit=", "limit=1&limit=2"}) {
    absl::Status s = ParsePageRequest(WithQuery(q)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << q;
    EXPECT_EQ(FieldOf(s), "limit") << q;
    EXPECT_THAT(s.message(), HasSubstr("limit")) << q;
  }
  for (std::string_view q : {"cursor=a%20b", "cursor=%00", "cursor=x&cursor=y"}) {
    absl::Status s = ParsePageRequest(WithQuery(q)).status();
    EXPECT_EQ(FieldOf(s), "cursor") << q;
  }
  absl::Status long_cursor =
      ParsePageRequest(WithQuery(std::string("cursor=") + std::string(513, 'a'))).status();
  EXPECT_EQ(FieldOf(long_cursor), "cursor");
}

Request WithIfMatch(std::string_view value) {
  Request r;
  r.headers.Add("If-Match", std::string(value));
  return r;
}

TEST(ETagTest, FormatsVersions) { EXPECT_EQ(ETagForVersion(7), "\"v7\""); }

TEST(ETagTest, ParsesIfMatch) {
  EXPECT_EQ(*ParseIfMatch(Request()), std::nullopt);
  EXPECT_EQ(*ParseIfMatch(WithIfMatch("*")), std::nullopt);
  EXPECT_EQ(*ParseIfMatch(WithIfMatch("\"v7\"")), 7);
  EXPECT_EQ(*ParseIfMatch(WithIfMatch(" \"v9223372036854775807\" ")), INT64_MAX);
  for (std::string_view bad : {"v7", "\"7\"", "W/\"v7\"", "\"v\"", "\"v-1\"", "\"v+1\"",
                               "\"v7\", \"v8\"", "\"v99999999999999999999\"", "\"v7x\""}) {
    absl::Status s = ParseIfMatch(WithIfMatch(bad)).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(FieldOf(s), "If-Match") << bad;
  }
}

TEST(ETagTest, CheckIfMatch) {
  EXPECT_TRUE(CheckIfMatch(Request(), 3).ok());
  EXPECT_TRUE(CheckIfMatch(WithIfMatch("\"v3\""), 3).ok());
  absl::Status s = CheckIfMatch(WithIfMatch("\"v2\""), 3);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FieldOf(s), "If-Match");
  EXPECT_THAT(s.message(), HasSubstr("\"v3\""));
}

TEST(RequestTest, Accessors) {
  Request r = WithQuery("x=1");
  r.path_params["host"] = "h1";
  r.headers.Add("Last-Event-ID", "42");
  EXPECT_EQ(r.PathParam("host"), "h1");
  EXPECT_EQ(r.PathParam("nope"), "");
  EXPECT_EQ(r.Query("x"), "1");
  EXPECT_EQ(r.Query("y"), std::nullopt);
  EXPECT_EQ(r.Header("last-event-id"), "42");
}

TEST(RequestTest, JsonBodyUsesTheDepthLimit) {
  Request r;
  r.body = "[[[1]]]";
  r.max_json_depth = 3;
  EXPECT_TRUE(r.JsonBody().ok());
  r.max_json_depth = 2;
  EXPECT_EQ(r.JsonBody().status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gpufleet::api
