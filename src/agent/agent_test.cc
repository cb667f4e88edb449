#include "agent/agent.h"

#include <filesystem>
#include <fstream>

#include "agent/testing.h"
#include "agent/wire.h"
#include "gtest/gtest.h"

namespace gpufleet::agent {
namespace {

using testing::FakeController;
using testing::FakeVgpuHost;
using testing::TestUuid;
using testing::Want;

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/agent_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    state_file_ = std::make_unique<StateFile>(*fs_, dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Agent> NewAgent(std::string token = "gfe_token") {
    AgentOptions options{.host = "r730-1", .enrolment_token = std::move(token)};
    return std::make_unique<Agent>(options, AgentBackends{.vgpu = &host_}, controller_, clock_,
                                   *state_file_);
  }

  // Ticks until nothing is due before `until`, moving the clock to each due time.
  void RunFor(Agent& agent, absl::Duration d) {
    absl::Time until = clock_.Now() + d;
    while (true) {
      absl::Time next = agent.Tick();
      if (next > until) break;
      clock_.Set(std::max(next, clock_.Now()));
    }
    clock_.Set(until);
  }

  std::string dir_;
  std::unique_ptr<os::FileSystem> fs_ = os::NewPosixFileSystem("/");
  std::unique_ptr<StateFile> state_file_;
  FakeVgpuHost host_;
  FakeController controller_;
  os::FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
};

TEST_F(AgentTest, EnrolsRegistersAndConvergesToTheDesiredState) {
  controller_.desired = {.generation = "g1", .instances = {Want(1, "a"), Want(2, "b")}};
  std::unique_ptr<Agent> agent = NewAgent();
  ASSERT_TRUE(agent->Start().ok());
  RunFor(*agent, absl::Seconds(1));
  EXPECT_EQ(controller_.credential_used, "gfa_cred");
  EXPECT_EQ(controller_.puts_host, 1);
  EXPECT_EQ(host_.instances.size(), 2u);
  EXPECT_EQ(controller_.reported.size(), 2u);
  EXPECT_TRUE(agent->stats().converged);
  // The credential and the desired state are on disk.
  absl::StatusOr<std::optional<AgentState>> saved = state_file_->Load();
  ASSERT_TRUE(saved.ok() && saved->has_value());
  EXPECT_EQ((*saved)->credential, "gfa_cred");
  EXPECT_EQ((*saved)->desired.generation, "g1");
  // A change is picked up at the next heartbeat: b goes, c comes.
  controller_.desired = {.generation = "g2", .instances = {Want(1, "a"), Want(3, "c")}};
  RunFor(*agent, absl::Seconds(11));
  EXPECT_TRUE(host_.instances.contains(TestUuid(3)));
  EXPECT_FALSE(host_.instances.contains(TestUuid(2)));
  EXPECT_EQ(controller_.reported.size(), 2u);
}

// What goes wrong on the host goes up with the instances report, once per distinct problem with
// how often it happened; problems alone bring a report at most once a minute.
TEST_F(AgentTest, ProblemsGoUpWithTheInstancesReport) {
  controller_.desired = {.generation = "g1", .instances = {Want(1, "a"), Want(2, "b")}};
  host_.fail_create = {TestUuid(2)};
  std::unique_ptr<Agent> agent = NewAgent();
  ASSERT_TRUE(agent->Start().ok());
  RunFor(*agent, absl::Seconds(1));
  ASSERT_EQ(controller_.errors.size(), 1u);
  EXPECT_NE(controller_.errors[0].message.find("injected create failure"), std::string::npos)
      << controller_.errors[0].message;
  EXPECT_NE(controller_.errors[0].message.find(TestUuid(2).ToString()), std::string::npos);
  const int reports = controller_.instance_reports;
  RunFor(*agent, absl::Seconds(30));  // retries fail again; within the minute nothing goes up
  EXPECT_EQ(controller_.errors.size(), 1u);
  RunFor(*agent, absl::Minutes(3));  // the retries (backing off to a minute) and the resyncs
  ASSERT_GE(controller_.errors.size(), 2u);
  EXPECT_EQ(controller_.errors[1].message, controller_.errors[0].message);
  int retries = 0;
  for (const AgentError& e : controller_.errors) retries += e.count;
  EXPECT_EQ(retries, agent->stats().failures) << "every failure is counted once";
  EXPECT_LE(controller_.instance_reports, reports + 4) << "at most one report a minute";
  host_.fail_create.clear();
  RunFor(*agent, absl::Minutes(3));
  EXPECT_EQ(host_.instances.size(), 2u);
  const std::size_t seen = controller_.errors.size();
  RunFor(*agent, absl::Minutes(3));
  EXPECT_EQ(controller_.errors.size(), seen) << "no problem, nothing reported";
}

// A failed report is a problem of its own; while the controller keeps failing, problems still
// go up at most once a minute (the instances themselves only when they change).
TEST_F(AgentTest, ProblemsAreNotResentEverySecondWhileTheControllerFails) {
  controller_.desired = {.generation = "g1", .instances = {Want(1, "a"), Want(2, "b")}};
  host_.fail_create = {TestUuid(2)};  // a problem at every reconcile
  controller_.fail_put_instances = true;
  std::unique_ptr<Agent> agent = NewAgent();
  ASSERT_TRUE(agent->Start().ok());
  // Something wakes the reconcile every second (as a host's change events can).
  auto run = [&](int seconds) {
    for (int i = 0; i < seconds; ++i) {
      agent->Nudge();
      RunFor(*agent, absl::Seconds(1));
    }
  };
  run(63);  // the retries' wait doubles: 1, 2, 4, 8, 16, 32 s
  EXPECT_LE(controller_.instance_report_attempts, 7);
  const int before = controller_.instance_report_attempts;
  run(300);
  EXPECT_LE(controller_.instance_report_attempts - before, 5) << "then one a minute";
  controller_.fail_put_instances = false;
  run(61);
  EXPECT_GE(controller_.instance_reports, 1) << "the next try after the controller is back";
  const int reports = controller_.instance_reports;
  run(30);
  EXPECT_EQ(controller_.instance_reports, reports)
      << "then problems alone go up once a minute again";
}

TEST_F(AgentTest, ConvergesAfterARebootWhileTheControllerIsAway) {
  controller_.desired = {.generation = "g1", .instances = {Want(1, "a"), Want(2, "b")}};
  {
    std::unique_ptr<Agent> agent = NewAgent();
    ASSERT_TRUE(agent->Start().ok());
    RunFor(*agent, absl::Seconds(1));
  }
  host_.instances.clear();  // the host rebooted: mdevs are gone
  controller_.reachable = false;
  std::unique_ptr<Agent> agent = NewAgent("");
  ASSERT_TRUE(agent->Start().ok());
  EXPECT_EQ(host_.instances.size(), 2u);
  RunFor(*agent, absl::Minutes(2));
  EXPECT_FALSE(agent->stats().controller_reachable);
  EXPECT_GT(agent->stats().heartbeat_failures, 0);
}

TEST_F(AgentTest, ResyncRepairsDriftWithoutAnyChangeUpstream) {
  controller_.desired = {.generation = "g1", .instances = {Want(1, "a")}};
  std::unique_ptr<Agent> agent = NewAgent();
  ASSERT_TRUE(agent->Start().ok());
  RunFor(*agent, absl::Seconds(1));
  host_.instances.clear();  // someone removed it by hand
  RunFor(*agent, absl::Seconds(61));
  EXPECT_TRUE(host_.instances.contains(TestUuid(1)));
}

TEST_F(AgentTest, ForeignInstancesAreReportedNotDeleted) {
  host_.instances[TestUuid(9)] = {.uuid = TestUuid(9), .gpu = "0000:82:00.0", .type = "P40-3Q"};
  std::unique_ptr<Agent> agent = NewAgent();
  ASSERT_TRUE(agent->Start().ok());
  RunFor(*agent, absl::Minutes(3));
  EXPECT_TRUE(host_.instances.contains(TestUuid(9)));
  EXPECT_EQ(agent->stats().conflicts, 1);
  EXPECT_FALSE(agent->stats().converged);
  ASSERT_EQ(controller_.reported.size(), 1u);  // the controller sees it as foreign
}

TEST_F(AgentTest, AHostWhoseVgpuManagerDoesNotAnswerIsNotHeartbeated) {
  std::unique_ptr<Agent> agent = NewAgent();
  ASSERT_TRUE(agent->Start().ok());
  RunFor(*agent, absl::Seconds(1));
  int beats = controller_.heartbeats;
  EXPECT_GE(beats, 1);
  host_.down = true;
  RunFor(*agent, absl::Seconds(45));
  EXPECT_EQ(controller_.heartbeats, beats);  // the controller marks it down after 30 s
  host_.down = false;
  RunFor(*agent, absl::Seconds(11));
  EXPECT_GT(controller_.heartbeats, beats);
}

TEST_F(AgentTest, NoCredentialAndNoTokenSaysWhatToDo) {
  std::unique_ptr<Agent> agent = NewAgent("");
  absl::Status s = agent->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("--enrol-token"), std::string::npos) << s;
}

TEST_F(AgentTest, CorruptStateFileIsNeverReplacedSilently) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/agent-state.json") << "{not json";
  std::unique_ptr<Agent> agent = NewAgent();
  absl::Status s = agent->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("agent-state.json"), std::string::npos) << s;
}

TEST_F(AgentTest, StateOfAnotherHostIsRefused) {
  AgentState other{.host = "r730-2", .credential = "gfa_x"};
  ASSERT_TRUE(state_file_->Save(other).ok());
  absl::Status s = NewAgent()->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("r730-2"), std::string::npos) << s;
}

TEST_F(AgentTest, EnrolmentWaitsForTheControllerAndUsesTheTokenOnce) {
  controller_.reachable = false;
  std::unique_ptr<Agent> agent = NewAgent();
  ASSERT_TRUE(agent->Start().ok());
  RunFor(*agent, absl::Seconds(25));
  EXPECT_TRUE(controller_.credential_used.empty());
  controller_.reachable = true;
  RunFor(*agent, absl::Seconds(11));
  EXPECT_EQ(controller_.credential_used, "gfa_cred");
  EXPECT_TRUE(controller_.valid_enrolment.empty());
  EXPECT_GE(controller_.heartbeats, 1);
}

// Per-vGPU samples go up with their GPU's, each value only where the backend has it.
// Problems go up made reportable; an empty message (which the controller refuses, and would
// then refuse every report after) never does.
TEST(ProblemWireTest, ProblemsAreMadeReportable) {
  nlohmann::json body = ObservedJson(
      {}, {}, {}, {{.message = "", .count = 2}, {.message = "two\nlines", .count = 3}});
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0], nlohmann::json({{"message", "two lines"}, {"count", 3}}));
  // Bytes that are not UTF-8 stay one byte each, so the text keeps within the limit.
  body =
      ObservedJson({}, {}, {}, {{.message = std::string(1500, '\xff') + "\xc3\xa9", .count = 1}});
  const std::string sent = body["errors"][0]["message"];
  EXPECT_EQ(sent, std::string(1024, '?'));
  body = ObservedJson({}, {}, {}, {{.message = "caf\xc3\xa9 \xe2\x82", .count = 1}});
  EXPECT_EQ(body["errors"][0]["message"], "caf\xc3\xa9 ??");
  // Lead and continuation bytes in place are not enough: overlong forms, UTF-16 surrogates
  // and code points above U+10FFFF are not UTF-8 either (each would be sent as U+FFFD, three
  // bytes). 341 surrogates make 1,023 bytes; sent as such they would be 3,069.
  std::string surrogates;
  for (int i = 0; i < 341; ++i) surrogates += "\xed\xa0\x80";
  body = ObservedJson({}, {}, {}, {{.message = surrogates, .count = 1}});
  EXPECT_EQ(body["errors"][0]["message"], std::string(1023, '?'));
  body = ObservedJson(
      {}, {}, {},
      {{.message = "\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf \xf4\x90\x80\x80 \xf5\x80\x80\x80 "
                   "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf",
        .count = 1}});
  EXPECT_EQ(body["errors"][0]["message"],
            "?? ??? ???? ???? ???? \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xed\x9f\xbf");
  EXPECT_EQ(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict).size(),
            body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size());
}

TEST(TelemetryWireTest, PerVgpuSamplesGoUpWithTheirGpu) {
  backends::GpuSample s{.gpu = "0000:3b:00.0", .utilisation_pct = 40.0};
  s.vgpus = {{.uuid = testing::TestUuid(1), .utilisation_pct = 25.0, .framebuffer_used_mib = 8192},
             {.uuid = testing::TestUuid(2)}};
  const nlohmann::json body = TelemetryJson({s}, std::nullopt);
  const nlohmann::json& vgpus = body["gpus"][0]["vgpus"];
  ASSERT_EQ(vgpus.size(), 2u);
  EXPECT_EQ(vgpus[0]["uuid"], testing::TestUuid(1).ToString());
  EXPECT_EQ(vgpus[0]["utilisation_pct"], 25.0);
  EXPECT_EQ(vgpus[0]["framebuffer_used_mib"], 8192);
  EXPECT_EQ(vgpus[1], nlohmann::json({{"uuid", testing::TestUuid(2).ToString()}}));
  EXPECT_FALSE(TelemetryJson({{.gpu = "g"}}, std::nullopt)["gpus"][0].contains("vgpus"));
}

}  // namespace
}  // namespace gpufleet::agent
