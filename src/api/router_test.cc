#include "api/router.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

Handler Named(std::string name) {
  return [name](const Request&) { return Response::Text(name); };
}

std::string RunMatched(const RouteMatch& m) { return m.route->handler(Request()).body; }

TEST(RouterTest, MatchesLiteralsAndParameters) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/api/v1/hosts", Access::Viewer(), Named("list")).ok());
  ASSERT_TRUE(r.Add("GET", "/api/v1/hosts/{host}/gpus/{pci}", Access::Viewer(), Named("gpu")).ok());
  RouteMatch m = r.Match("GET", "/api/v1/hosts/h1/gpus/0000:3b:00.0");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(RunMatched(m), "gpu");
  EXPECT_THAT(m.params, ElementsAre(Pair("host", "h1"), Pair("pci", "0000:3b:00.0")));
  EXPECT_EQ(RunMatched(r.Match("GET", "/api/v1/hosts")), "list");
}

TEST(RouterTest, DecodesEachSegmentAfterSplitting) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/vms/{vm}", Access::Viewer(), Named("vm")).ok());
  RouteMatch m = r.Match("GET", "/vms/a%2Fb%20c");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("vm"), "a/b c");
  EXPECT_EQ(r.Match("GET", "/vms/bad%zz").route, nullptr);
}

TEST(RouterTest, LiteralBeatsParameter) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/hosts/{host}", Access::Viewer(), Named("host")).ok());
  ASSERT_TRUE(r.Add("GET", "/hosts/summary", Access::Viewer(), Named("summary")).ok());
  EXPECT_EQ(RunMatched(r.Match("GET", "/hosts/summary")), "summary");
  EXPECT_EQ(RunMatched(r.Match("GET", "/hosts/h7")), "host");
}

TEST(RouterTest, UnknownPathHasNoAllowedMethods) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/hosts", Access::Viewer(), Named("x")).ok());
  for (std::string_view path : {"/nope", "/hosts/", "/hosts/x", "", "hosts", "//hosts"}) {
    RouteMatch m = r.Match("GET", path);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_TRUE(m.allowed_methods.empty()) << path;
  }
}

TEST(RouterTest, KnownPathWithOtherMethodListsAllowed) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/hosts/{host}", Access::Viewer(), Named("get")).ok());
  ASSERT_TRUE(r.Add("DELETE", "/hosts/{id}", Access::Admin(), Named("del")).ok());
  RouteMatch m = r.Match("POST", "/hosts/h1");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_THAT(m.allowed_methods, ElementsAre("DELETE", "GET"));
}

TEST(RouterTest, RejectsBadTemplates) {
  Router r;
  EXPECT_EQ(r.Add("get", "/x", Access::Viewer(), Named("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "x", Access::Viewer(), Named("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/{b", Access::Viewer(), Named("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/{}", Access::Viewer(), Named("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/{Host}", Access::Viewer(), Named("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a/{x}/{x}", Access::Viewer(), Named("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a//b", Access::Viewer(), Named("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add("GET", "/a", Access::Viewer(), nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status s = r.Add("PUT", "/hosts/{id}", Access::AgentOwnHost("host"), Named("x"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("host"));
  EXPECT_TRUE(r.routes().empty());
}

TEST(RouterTest, RejectsSameShapeForSameMethod) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/hosts/{host}", Access::Viewer(), Named("x")).ok());
  EXPECT_EQ(r.Add("GET", "/hosts/{name}", Access::Viewer(), Named("y")).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(r.Add("PUT", "/hosts/{host}", Access::Operator(), Named("z")).ok());
}

TEST(RouterTest, TableIsEnumerableInOrder) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/b", Access::Public(), Named("b")).ok());
  ASSERT_TRUE(r.Add("POST", "/a", Access::Operator(), Named("a")).ok());
  ASSERT_EQ(r.routes().size(), 2u);
  EXPECT_EQ(r.routes()[0].path_template, "/b");
  EXPECT_EQ(r.routes()[1].method, "POST");
  EXPECT_EQ(r.routes()[1].access.ToString(), "operator");
}

}  // namespace
}  // namespace gpufleet::api
