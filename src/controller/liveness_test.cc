// Host liveness driven by a FakeClock: down after 3 missed heartbeats, up again on the next one,
// and the placement engine follows.

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using testing::Bearer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::JsonOf;
using testing::TempDir;
using testing::TestController;

class LivenessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start({.heartbeat_interval = absl::Seconds(10)}).ok());
    agent_ = tc_.AgentFor("h1");
    auto put = tc_.Client().Put("/api/v1/hosts/h1", Bearer(agent_), testing::P40Host(1).dump(),
                                "application/json");
    ASSERT_EQ(put->status, 201) << put->body;
  }
  int Heartbeat() {
    return tc_.Client().Post("/api/v1/hosts/h1/heartbeat", Bearer(agent_), "", "")->status;
  }
  std::string State() {
    return JsonOf(tc_.Client().Get("/api/v1/hosts/h1", Bearer(tc_.admin_token())))["state"];
  }
  std::vector<std::string> Sweep() {
    absl::StatusOr<std::vector<std::string>> r = tc_.controller().inventory().SweepLiveness();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(std::vector<std::string>{});
  }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string agent_;
};

TEST_F(LivenessTest, DownAfterThreeMissedHeartbeatsUpOnTheNext) {
  ASSERT_EQ(Heartbeat(), 200);
  clock_.Advance(absl::Seconds(29));
  EXPECT_TRUE(Sweep().empty());
  EXPECT_EQ(State(), "ready");
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(Sweep(), ElementsAre("h1"));
  EXPECT_EQ(State(), "down");
  EXPECT_TRUE(Sweep().empty());  // once

  httplib::Client c = tc_.Client();
  auto ev = c.Get("/api/v1/events?kind=host.down", Bearer(tc_.admin_token()));
  ASSERT_EQ(JsonOf(ev)["items"].size(), 1u);
  EXPECT_THAT(JsonOf(ev)["items"][0]["message"].get<std::string>(), HasSubstr("3 intervals"));
  auto metrics = c.Get("/metrics", Bearer(tc_.admin_token()));
  EXPECT_THAT(metrics->body, HasSubstr("gpufleet_host_up{host=\"h1\"} 0"));
  auto refused = c.Post("/api/v1/vms", Bearer(tc_.admin_token()),
                        R"({"name":"web-1","type":"P40-8Q"})", "application/json");
  EXPECT_EQ(refused->status, 409) << refused->body;

  ASSERT_EQ(Heartbeat(), 200);
  EXPECT_EQ(State(), "ready");
  auto up = c.Get("/api/v1/events?kind=host.up", Bearer(tc_.admin_token()));
  EXPECT_EQ(JsonOf(up)["items"].size(), 1u);
  auto placed = c.Post("/api/v1/vms", Bearer(tc_.admin_token()),
                       R"({"name":"web-1","type":"P40-8Q"})", "application/json");
  EXPECT_EQ(placed->status, 201) << placed->body;
}

TEST_F(LivenessTest, AHostThatNeverHeartbeatsGoesDownFromItsRegistration) {
  clock_.Advance(absl::Seconds(30));
  EXPECT_THAT(Sweep(), ElementsAre("h1"));
}

}  // namespace
}  // namespace gpufleet::controller
