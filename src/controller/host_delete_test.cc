// Deleting a host and revoking an agent over real HTTP: a host that runs VMs is refused with
// their names; a deleted host's agent is refused at once (its credential goes with it, the
// verified-credential cache is emptied); a revoked agent is refused until it enrols again.

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using testing::Bearer;
using ::testing::HasSubstr;
using testing::JsonOf;
using testing::P40Host;
using testing::TempDir;
using testing::TestController;

class HostDeleteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    op_ = tc_.TokenFor("ops", "operator");
    agent_ = tc_.AgentFor("h1");
    ASSERT_EQ(PutHost("h1", agent_), 201);
  }
  int PutHost(std::string_view name, const std::string& token) {
    auto r = tc_.Client().Put(StrCat("/api/v1/hosts/", name), Bearer(token), P40Host(1).dump(),
                              "application/json");
    return r ? r->status : 0;
  }
  int Heartbeat(const std::string& token) {
    auto r =
        tc_.Client().Post("/api/v1/hosts/h1/heartbeat", Bearer(token), "{}", "application/json");
    return r ? r->status : 0;
  }
  httplib::Result Delete(std::string_view path, const std::string& token) {
    return tc_.Client().Delete(std::string(path), Bearer(token));
  }
  bool HasEvent(std::string_view kind) {
    nlohmann::json j = JsonOf(tc_.Client().Get(StrCat("/api/v1/events?kind=", kind, "&limit=10"),
                                               Bearer(tc_.admin_token())));
    return j.contains("items") && !j["items"].empty();
  }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string op_, agent_;
};

TEST_F(HostDeleteTest, RefusesAHostThatRunsVmsAndNamesThem) {
  auto created = tc_.Client().Post("/api/v1/vms", Bearer(op_),
                                   nlohmann::json({{"name", "web-1"}, {"type", "P40-8Q"}}).dump(),
                                   "application/json");
  ASSERT_TRUE(created && created->status == 201);
  auto r = Delete("/api/v1/hosts/h1", tc_.admin_token());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_THAT(JsonOf(r)["message"].get<std::string>(), HasSubstr("web-1"));
  EXPECT_THAT(JsonOf(r)["message"].get<std::string>(), HasSubstr("gpufleet host maintenance h1"));
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/h1", Bearer(op_))->status, 200);
  EXPECT_EQ(Heartbeat(agent_), 200);  // nothing was half done: the agent still works

  ASSERT_EQ(Delete("/api/v1/vms/web-1", op_)->status, 204);
  EXPECT_EQ(Delete("/api/v1/hosts/h1", op_)->status, 403);  // admin only
  r = Delete("/api/v1/hosts/h1", tc_.admin_token());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204) << r->body;
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/h1", Bearer(op_))->status, 404);
  EXPECT_TRUE(JsonOf(tc_.Client().Get("/api/v1/gpus?host=h1", Bearer(op_)))["items"].empty());
  EXPECT_TRUE(HasEvent("host.deleted"));
  EXPECT_EQ(Delete("/api/v1/hosts/h1", tc_.admin_token())->status, 404);
}

TEST_F(HostDeleteTest, ADeletedHostsAgentIsRefusedAtOnce) {
  EXPECT_EQ(Heartbeat(agent_), 200);  // the credential is now in the verified cache
  auto r = Delete("/api/v1/hosts/h1", tc_.admin_token());
  ASSERT_TRUE(r && r->status == 204);
  EXPECT_EQ(PutHost("h1", agent_), 401);  // it cannot register the host again
  EXPECT_EQ(Heartbeat(agent_), 401);
  // A new agent enrolled for the name may register it again.
  const std::string again = tc_.AgentFor("h1");
  EXPECT_EQ(PutHost("h1", again), 201);
}

TEST_F(HostDeleteTest, HonoursIfMatch) {
  auto r = tc_.Client().Delete(
      "/api/v1/hosts/h1",
      {{"Authorization", StrCat("Bearer ", tc_.admin_token())}, {"If-Match", "\"v999\""}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 412);
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/h1", Bearer(op_))->status, 200);
}

TEST_F(HostDeleteTest, RevokedAgentIsRefusedUntilItEnrolsAgain) {
  nlohmann::json agents =
      JsonOf(tc_.Client().Get("/api/v1/agents", Bearer(tc_.admin_token())))["items"];
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["agent"], "h1");
  EXPECT_EQ(agents[0]["revoked"], false);
  EXPECT_EQ(tc_.Client().Get("/api/v1/agents", Bearer(op_))->status, 403);

  EXPECT_EQ(Heartbeat(agent_), 200);
  ASSERT_EQ(Delete("/api/v1/agents/h1", tc_.admin_token())->status, 204);
  EXPECT_EQ(Heartbeat(agent_), 401);
  EXPECT_EQ(Delete("/api/v1/agents/h1", tc_.admin_token())->status, 204);  // idempotent
  EXPECT_EQ(Delete("/api/v1/agents/nobody", tc_.admin_token())->status, 404);
  EXPECT_TRUE(HasEvent("agent.revoked"));
  agents = JsonOf(tc_.Client().Get("/api/v1/agents", Bearer(tc_.admin_token())))["items"];
  EXPECT_EQ(agents[0]["revoked"], true);
  // The host stays; a new enrolment gives the agent a working credential.
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/h1", Bearer(op_))->status, 200);
  const std::string again = tc_.AgentFor("h1");
  EXPECT_EQ(Heartbeat(again), 200);
  EXPECT_EQ(Heartbeat(agent_), 401);
}

}  // namespace
}  // namespace gpufleet::controller
