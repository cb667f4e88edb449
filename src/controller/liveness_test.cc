// Host liveness driven by a FakeClock: heartbeats kept in memory and flushed once per interval,
// down after 3 missed heartbeats, up again (durably) on the next one, a grace period after a
// restart, and the placement engine follows.

#include <thread>

#include "common/status_macros.h"
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
  int Heartbeat(std::string_view host = "h1") {
    const std::string& token = host == "h1" ? agent_ : tc_.admin_token();
    return tc_.Client()
        .Post(StrCat("/api/v1/hosts/", host, "/heartbeat"), Bearer(token), "", "")
        ->status;
  }
  nlohmann::json Host(std::string_view host = "h1") {
    return JsonOf(tc_.Client().Get(StrCat("/api/v1/hosts/", host), Bearer(tc_.admin_token())));
  }
  std::string State(std::string_view host = "h1") { return Host(host)["state"]; }
  // The host's row as the store has it, bypassing the in-memory heartbeats.
  store::Host Stored(std::string_view host = "h1") {
    store::Host row;
    absl::Status s = tc_.store().Read([&](store::ReadTx& tx) -> absl::Status {
      absl::StatusOr<store::Host> h = tx.GetHost(host);
      if (h.ok()) row = *h;
      return h.status();
    });
    EXPECT_TRUE(s.ok()) << s;
    return row;
  }
  nlohmann::json Events(std::string_view kind) {
    return JsonOf(
        tc_.Client().Get(StrCat("/api/v1/events?kind=", kind), Bearer(tc_.admin_token())))["items"];
  }
  std::vector<std::string> Sweep() {
    absl::StatusOr<std::vector<std::string>> r = tc_.controller().inventory().SweepLiveness();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(std::vector<std::string>{});
  }
  void Restart() {
    tc_.Stop();
    ASSERT_TRUE(tc_.Start({.heartbeat_interval = absl::Seconds(10)}).ok());
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

TEST_F(LivenessTest, HeartbeatsStayInMemoryUntilTheFlushOncePerInterval) {
  const store::Host registered = Stored();
  clock_.Advance(absl::Seconds(4));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Heartbeat(), 200);
  const absl::Time beat = clock_.Now();
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Sweep().empty());

  // Nothing written: no row change, no event. GET shows the live time with the stored ETag.
  EXPECT_EQ(Stored(), registered);
  EXPECT_EQ(Events("host.up").size(), 0u);
  auto got = tc_.Client().Get("/api/v1/hosts/h1", Bearer(tc_.admin_token()));
  EXPECT_EQ(JsonOf(got)["last_heartbeat"], TimeText(beat));
  EXPECT_EQ(got->get_header_value("ETag"), api::ETagForVersion(registered.version));
  auto list = tc_.Client().Get("/api/v1/hosts", Bearer(tc_.admin_token()));
  EXPECT_EQ(JsonOf(list)["items"][0]["last_heartbeat"], TimeText(beat));
  EXPECT_EQ(tc_.controller().inventory().LastHeartbeat("h1"), beat);

  clock_.Advance(absl::Seconds(5));  // one interval since the start: the sweep flushes
  EXPECT_TRUE(Sweep().empty());
  store::Host flushed = Stored();
  EXPECT_EQ(flushed.last_heartbeat, beat);
  EXPECT_EQ(flushed.state, store::HostState::kReady);
  // Soft state: the version stays, so an ETag taken before the flush still holds.
  EXPECT_EQ(flushed.version, registered.version);
  EXPECT_EQ(Host()["last_heartbeat"], TimeText(beat));

  // No heartbeat since: the next flush writes nothing.
  clock_.Advance(absl::Seconds(10));
  EXPECT_TRUE(Sweep().empty());
  EXPECT_EQ(Stored(), flushed);
}

// Last-use times of credentials are written behind too: a request only notes the time; the
// controller's sweep (FlushLastUse) writes it, once per granularity, and skips deleted tokens.
TEST_F(LivenessTest, LastUseOfCredentialsIsWrittenBehind) {
  auto stored_agent = [&] {
    store::AgentCredential row;
    EXPECT_TRUE(tc_.store()
                    .Read([&](store::ReadTx& tx) -> absl::Status {
                      GPUFLEET_ASSIGN_OR_RETURN(row, tx.GetAgentCredential("h1"));
                      return absl::OkStatus();
                    })
                    .ok());
    return row;
  };
  auto stored_tokens = [&] {
    std::vector<store::ApiToken> rows;
    EXPECT_TRUE(tc_.store()
                    .Read([&](store::ReadTx& tx) -> absl::Status {
                      GPUFLEET_ASSIGN_OR_RETURN(rows, tx.ListApiTokens());
                      return absl::OkStatus();
                    })
                    .ok());
    return rows;
  };
  ASSERT_TRUE(tc_.controller().auth().FlushLastUse().ok());  // what SetUp's requests noted
  const store::AgentCredential before = stored_agent();
  clock_.Advance(absl::Minutes(2));  // past the granularity: the next use is due
  ASSERT_EQ(Heartbeat(), 200);
  const absl::Time used = clock_.Now();
  ASSERT_EQ(tc_.Client().Get("/api/v1/hosts", Bearer(tc_.admin_token()))->status, 200);
  EXPECT_EQ(stored_agent(), before);  // nothing written by the requests themselves

  ASSERT_TRUE(tc_.controller().SweepLiveness().ok());
  EXPECT_EQ(stored_agent().last_seen_at, used);
  bool admin_seen = false;
  for (const store::ApiToken& t : stored_tokens()) {
    if (t.name == "admin") {
      EXPECT_EQ(t.last_used_at, used);
      admin_seen = true;
    }
  }
  EXPECT_TRUE(admin_seen);
  // Within the granularity, another request notes nothing new: the flush writes no row.
  const store::AgentCredential flushed = stored_agent();
  clock_.Advance(absl::Seconds(5));
  ASSERT_EQ(Heartbeat(), 200);
  ASSERT_TRUE(tc_.controller().auth().FlushLastUse().ok());
  EXPECT_EQ(stored_agent(), flushed);

  // A token used and then deleted before the flush: the flush goes on without it.
  auto created = tc_.Client().Post("/api/v1/tokens", Bearer(tc_.admin_token()),
                                   R"({"name":"ci","role":"viewer"})", "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string secret = JsonOf(created)["token"];
  ASSERT_EQ(tc_.Client().Get("/api/v1/hosts", Bearer(secret))->status, 200);
  ASSERT_EQ(tc_.Client().Delete("/api/v1/tokens/ci", Bearer(tc_.admin_token()))->status, 204);
  EXPECT_TRUE(tc_.controller().auth().FlushLastUse().ok());
  for (const store::ApiToken& t : stored_tokens()) EXPECT_NE(t.name, "ci");
}

TEST_F(LivenessTest, HeartbeatOfAnUnknownHostIsNotFound) {
  EXPECT_EQ(Heartbeat("nowhere"), 404);
  EXPECT_EQ(Heartbeat("nowhere"), 404);  // nothing learned from the first
}

TEST_F(LivenessTest, TheHeartbeatOfADownHostBringsItUpDurably) {
  clock_.Advance(absl::Seconds(30));
  ASSERT_THAT(Sweep(), ElementsAre("h1"));
  ASSERT_EQ(Stored().state, store::HostState::kDown);
  clock_.Advance(absl::Seconds(3));
  ASSERT_EQ(Heartbeat(), 200);
  // In the store at once, with its event, before any flush.
  store::Host up = Stored();
  EXPECT_EQ(up.state, store::HostState::kReady);
  EXPECT_EQ(up.last_heartbeat, clock_.Now());
  nlohmann::json events = Events("host.up");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["actor"], "agent:h1");
  // And it survives a restart without a flush.
  Restart();
  EXPECT_EQ(State(), "ready");
  // The next heartbeats are in memory again.
  ASSERT_EQ(Heartbeat(), 200);
  EXPECT_EQ(Stored().version, up.version);
}

TEST_F(LivenessTest, ARestartGivesSilentHostsAGracePeriodFromTheStart) {
  auto put = tc_.Client().Put("/api/v1/hosts/h2", Bearer(tc_.admin_token()),
                              testing::P40Host(1).dump(), "application/json");
  ASSERT_EQ(put->status, 201) << put->body;
  ASSERT_EQ(Heartbeat("h1"), 200);
  ASSERT_EQ(Heartbeat("h2"), 200);
  const absl::Time beat = clock_.Now();
  Restart();  // a clean stop flushes the heartbeats
  EXPECT_EQ(Stored("h1").last_heartbeat, beat);
  tc_.Stop();

  clock_.Advance(absl::Hours(1));  // the controller was away for an hour
  ASSERT_TRUE(tc_.Start({.heartbeat_interval = absl::Seconds(10)}).ok());
  EXPECT_TRUE(Sweep().empty());
  EXPECT_EQ(Host("h1")["last_heartbeat"], TimeText(beat));  // the stored time, not the start
  clock_.Advance(absl::Seconds(15));
  ASSERT_EQ(Heartbeat("h2"), 200);
  clock_.Advance(absl::Seconds(14));
  EXPECT_TRUE(Sweep().empty());
  clock_.Advance(absl::Seconds(1));  // 30 s since the start; h2 heartbeated 15 s ago
  EXPECT_THAT(Sweep(), ElementsAre("h1"));
  nlohmann::json down = Events("host.down");
  ASSERT_EQ(down.size(), 1u);
  EXPECT_THAT(down[0]["message"].get<std::string>(),
              HasSubstr("no heartbeat since the controller started 30s ago (3 intervals"));
  EXPECT_EQ(State("h2"), "ready");
}

TEST_F(LivenessTest, AStateGivenByPutEndsADownWithoutHostUp) {
  clock_.Advance(absl::Seconds(30));
  ASSERT_THAT(Sweep(), ElementsAre("h1"));
  nlohmann::json body = testing::P40Host(1);
  body["state"] = "maintenance";
  auto put = tc_.Client().Put("/api/v1/hosts/h1", Bearer(agent_), body.dump(), "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  ASSERT_EQ(Heartbeat(), 200);
  auto r = tc_.Client().Post("/api/v1/hosts/h1/heartbeat", Bearer(agent_), "", "");
  EXPECT_EQ(JsonOf(r)["state"], "maintenance");
  EXPECT_EQ(Events("host.up").size(), 0u);
}

// A heartbeat racing a sweep that finds the host silent: whichever wins, the host ends ready
// (the heartbeat is the later news) and every host.down has its host.up.
TEST_F(LivenessTest, AHeartbeatRacingTheSweepLeavesTheHostUp) {
  ASSERT_EQ(Heartbeat(), 200);
  for (int round = 0; round < 20; ++round) {
    clock_.Advance(absl::Seconds(30));  // no thread reads the clock now
    std::thread beat([&] { EXPECT_EQ(Heartbeat(), 200); });
    std::thread sweep([&] { (void)Sweep(); });
    beat.join();
    sweep.join();
    ASSERT_EQ(Stored().state, store::HostState::kReady) << "round " << round;
    ASSERT_EQ(State(), "ready");
    ASSERT_EQ(Events("host.down").size(), Events("host.up").size());
  }
}

}  // namespace
}  // namespace gpufleet::controller
