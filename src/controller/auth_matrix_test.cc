// Walks the controller's whole route table (built-in routes included) with no token, a viewer,
// an operator and agents, and checks that each route admits exactly whom its Access says.

#include <set>
#include <string>

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using testing::Bearer;
using testing::TempDir;
using testing::TestController;

// Routes that take POST but change nothing (dry-run plans): viewers may use them.
const std::set<std::string> kReadOnlyPosts = {"/api/v1/plans/evacuate", "/api/v1/plans/ha",
                                              "/api/v1/plans/place", "/api/v1/plans/demand"};

std::string Fill(std::string path, std::string_view host) {
  auto replace = [&](std::string_view param, std::string_view value) {
    for (std::size_t at = path.find(param); at != std::string::npos; at = path.find(param)) {
      path.replace(at, param.size(), value);
    }
  };
  replace("{host}", host);
  replace("{vm}", "vm-x");
  replace("{name}", "tok-x");
  replace("{agent}", "agent-x");
  return path;
}

httplib::Result Send(httplib::Client& c, const std::string& method, const std::string& path,
                     const httplib::Headers& h) {
  if (method == "GET") return c.Get(path, h);
  if (method == "DELETE") return c.Delete(path, h);
  if (method == "PUT") return c.Put(path, h, "{}", "application/json");
  return c.Post(path, h, "{}", "application/json");
}

class AuthMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    viewer_ = tc_.TokenFor("vera", "viewer");
    operator_ = tc_.TokenFor("olga", "operator");
    agent_h1_ = tc_.AgentFor("h1");
  }
  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string viewer_, operator_, agent_h1_;
};

TEST_F(AuthMatrixTest, EveryRouteAdmitsExactlyWhomItsAccessSays) {
  httplib::Client c = tc_.Client();
  int checked = 0;
  for (const api::Route& route : tc_.router().routes()) {
    if (route.path_template == "/api/v1/events/stream") continue;  // streams; checked below
    SCOPED_TRACE(route.method + " " + route.path_template + " " + route.access.ToString());
    const std::string path = Fill(route.path_template, "h1");
    const bool mutating = route.method != "GET" && !kReadOnlyPosts.contains(route.path_template);

    auto anonymous = Send(c, route.method, path, {});
    ASSERT_TRUE(anonymous);
    if (route.access.is_public) {
      EXPECT_NE(anonymous->status, 401);
      continue;
    }
    EXPECT_EQ(anonymous->status, 401);
    EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate").rfind("Bearer", 0), 0u);

    auto viewer = Send(c, route.method, path, Bearer(viewer_));
    const bool viewer_admitted = route.access.min_role == api::Role::kViewer;
    EXPECT_EQ(viewer->status == 403, !viewer_admitted);
    EXPECT_NE(viewer->status, 401);
    if (mutating) {
      EXPECT_EQ(viewer->status, 403) << "viewers must not change anything";
    }
    auto op = Send(c, route.method, path, Bearer(operator_));
    const bool admin_only = route.access.min_role == api::Role::kAdmin;
    EXPECT_EQ(op->status == 403, admin_only || !route.access.min_role.has_value());

    auto own = Send(c, route.method, path, Bearer(agent_h1_));
    auto other = Send(c, route.method, Fill(route.path_template, "h2"), Bearer(agent_h1_));
    if (route.access.agent_host_param.has_value()) {
      EXPECT_NE(own->status, 403);
      EXPECT_NE(own->status, 401);
      EXPECT_EQ(other->status, 403) << "an agent acts only for its own host";
    } else {
      EXPECT_EQ(own->status, 403) << "agents may only use routes for their host";
    }
    ++checked;
  }
  EXPECT_GE(checked, 15);
  auto stream = c.Get("/api/v1/events/stream");
  EXPECT_EQ(stream->status, 401);
}

TEST_F(AuthMatrixTest, AgentRegistersOnlyItsOwnHost) {
  httplib::Client c = tc_.Client();
  auto own =
      c.Put("/api/v1/hosts/h1", Bearer(agent_h1_), testing::P40Host(1).dump(), "application/json");
  ASSERT_EQ(own->status, 201) << own->body;
  EXPECT_EQ(testing::JsonOf(own)["agent"], "h1");
  auto other =
      c.Put("/api/v1/hosts/h2", Bearer(agent_h1_), testing::P40Host(1).dump(), "application/json");
  EXPECT_EQ(other->status, 403);
  EXPECT_EQ(c.Post("/api/v1/hosts/h1/heartbeat", Bearer(agent_h1_), "", "")->status, 200);
  EXPECT_EQ(c.Post("/api/v1/hosts/h2/heartbeat", Bearer(agent_h1_), "", "")->status, 403);
  EXPECT_EQ(c.Get("/api/v1/vms", Bearer(agent_h1_))->status, 403);
}

TEST_F(AuthMatrixTest, EnrolmentTokensAreSingleUse) {
  httplib::Client c = tc_.Client();
  auto issued = c.Post("/api/v1/enrolment-tokens", Bearer(tc_.admin_token()),
                       R"({"host":"h3","expires_in_seconds":60})", "application/json");
  ASSERT_EQ(issued->status, 201);
  nlohmann::json body = {{"token", testing::JsonOf(issued)["token"]}};
  EXPECT_EQ(c.Post("/api/v1/agents/enrol", body.dump(), "application/json")->status, 201);
  EXPECT_EQ(c.Post("/api/v1/agents/enrol", body.dump(), "application/json")->status, 401);
  auto late = c.Post("/api/v1/enrolment-tokens", Bearer(tc_.admin_token()),
                     R"({"host":"h4","expires_in_seconds":60})", "application/json");
  clock_.Advance(absl::Seconds(61));
  nlohmann::json late_body = {{"token", testing::JsonOf(late)["token"]}};
  EXPECT_EQ(c.Post("/api/v1/agents/enrol", late_body.dump(), "application/json")->status, 401);
}

}  // namespace
}  // namespace gpufleet::controller
