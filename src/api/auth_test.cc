#include "api/auth.h"

#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

const Principal kViewer{.name = "v", .role = Role::kViewer, .agent_host = ""};
const Principal kOperator{.name = "o", .role = Role::kOperator, .agent_host = ""};
const Principal kAdmin{.name = "a", .role = Role::kAdmin, .agent_host = ""};
const Principal kAgentH1{.name = "agent-h1", .role = Role::kAgent, .agent_host = "h1"};

bool Allowed(const Access& access, const Principal& p, const PathParams& params = {}) {
  return Authorize(access, p, params).ok();
}

TEST(AuthorizeTest, HumanRolesAreOrdered) {
  EXPECT_TRUE(Allowed(Access::Viewer(), kViewer));
  EXPECT_FALSE(Allowed(Access::Operator(), kViewer));
  EXPECT_TRUE(Allowed(Access::Operator(), kOperator));
  EXPECT_TRUE(Allowed(Access::Operator(), kAdmin));
  EXPECT_FALSE(Allowed(Access::Admin(), kOperator));
  EXPECT_TRUE(Allowed(Access::Admin(), kAdmin));
  EXPECT_EQ(Authorize(Access::Admin(), kViewer, {}).code(), absl::StatusCode::kPermissionDenied);
}

TEST(AuthorizeTest, PublicAdmitsEveryone) {
  EXPECT_TRUE(Allowed(Access::Public(), kViewer));
  EXPECT_TRUE(Allowed(Access::Public(), kAgentH1));
}

TEST(AuthorizeTest, AgentsOnlyForTheirOwnHost) {
  Access access = Access::AgentOwnHost("host");
  EXPECT_TRUE(Allowed(access, kAgentH1, {{"host", "h1"}}));
  EXPECT_FALSE(Allowed(access, kAgentH1, {{"host", "h2"}}));
  EXPECT_FALSE(Allowed(access, kAgentH1, {}));
  EXPECT_FALSE(Allowed(access, kAdmin, {{"host", "h1"}}));
  EXPECT_TRUE(Allowed(access.Or(Role::kAdmin), kAdmin, {{"host", "h1"}}));
  EXPECT_FALSE(Allowed(access.Or(Role::kAdmin), kOperator, {{"host", "h1"}}));
}

TEST(AuthorizeTest, AgentsNeverUseHumanRoutes) {
  EXPECT_FALSE(Allowed(Access::Viewer(), kAgentH1, {{"host", "h1"}}));
}

TEST(AuthorizeTest, AccessDescribesItself) {
  EXPECT_EQ(Access::Public().ToString(), "public");
  EXPECT_EQ(Access::Viewer().ToString(), "viewer");
  EXPECT_EQ(Access::AgentOwnHost("host").Or(Role::kAdmin).ToString(), "agent(host)|admin");
}

}  // namespace
}  // namespace gpufleet::api
