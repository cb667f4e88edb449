// GPU and BMC telemetry over real HTTP: kept in memory only, a bounded history per GPU, metrics
// from fresh readings only, and reports checked against the host's inventory.

#include "controller/telemetry.h"

#include <string>

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using testing::Bearer;
using ::testing::HasSubstr;
using testing::JsonOf;
using ::testing::Not;
using testing::P40Host;
using testing::TempDir;
using testing::TestController;

constexpr std::string_view kGpu1 = "0000:01:00.0";
constexpr std::string_view kGpu2 = "0000:02:00.0";

class TelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    viewer_ = tc_.TokenFor("vera", "viewer");
    auto r = tc_.Client().Put("/api/v1/hosts/r730-1", Bearer(tc_.admin_token()), P40Host(2).dump(),
                              "application/json");
    ASSERT_TRUE(r && r->status == 201);
    agent_ = tc_.AgentFor("r730-1");
  }
  httplib::Result Post(const nlohmann::json& body, std::string_view host = "r730-1",
                       std::string_view token = "") {
    return tc_.Client().Post(StrCat("/api/v1/hosts/", host, "/telemetry"),
                             Bearer(token.empty() ? agent_ : token), body.dump(),
                             "application/json");
  }
  nlohmann::json Get() {
    return JsonOf(tc_.Client().Get("/api/v1/hosts/r730-1/telemetry", Bearer(viewer_)));
  }
  std::string Metrics() { return tc_.Client().Get("/metrics", Bearer(viewer_))->body; }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string viewer_, agent_;
};

TEST_F(TelemetryTest, LatestReadingsBecomeMetricsUntilTheyGoStale) {
  const int64_t seq = tc_.store().LastEventSeq();
  auto posted = Post({{"gpus",
                       {{{"gpu", kGpu1},
                         {"temperature_c", 61.5},
                         {"utilisation_pct", 50},
                         {"framebuffer_used_mib", 1024},
                         {"framebuffer_total_mib", 24576},
                         {"power_w", 120},
                         {"xid", 0}},
                        {{"gpu", "0000:02:00.0"}, {"lost", true}}}},
                      {"bmc",
                       {{"temperatures", {{{"name", "inlet"}, {"celsius", 24}}}},
                        {"fans", {{{"name", "fan1"}, {"rpm", 9000}}}},
                        {"automatic", false},
                        {"duty_pct", 40}}}});
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 204) << posted->body;
  EXPECT_EQ(tc_.store().LastEventSeq(), seq) << "telemetry never reaches the store";

  std::string metrics = Metrics();
  const std::string labels = StrCat(R"({host="r730-1",gpu=")", kGpu1, R"(",board="P40"})");
  EXPECT_THAT(metrics, HasSubstr(StrCat("gpufleet_gpu_temperature_celsius", labels, " 61.5")));
  EXPECT_THAT(metrics, HasSubstr(StrCat("gpufleet_gpu_utilization_ratio", labels, " 0.5")));
  EXPECT_THAT(metrics,
              HasSubstr(StrCat("gpufleet_gpu_framebuffer_used_bytes", labels, " 1073741824")));
  EXPECT_THAT(metrics, HasSubstr(StrCat("gpufleet_gpu_lost", labels, " 0")));
  EXPECT_THAT(metrics, HasSubstr(StrCat(R"(gpufleet_gpu_lost{host="r730-1",gpu=")", kGpu2,
                                        R"(",board="P40"} 1)")));
  EXPECT_THAT(metrics, HasSubstr(R"(gpufleet_host_fan_duty_ratio{host="r730-1"} 0.4)"));

  nlohmann::json got = Get();
  EXPECT_EQ(got["host"], "r730-1");
  ASSERT_EQ(got["gpus"].size(), 2u);
  EXPECT_EQ(got["gpus"][0]["gpu"], kGpu1);
  EXPECT_EQ(got["gpus"][0]["board"], "P40");
  EXPECT_EQ(got["gpus"][0]["latest"]["power_w"], 120.0);
  EXPECT_EQ(got["gpus"][0]["samples"][0]["temperature_c"], 61.5);
  EXPECT_TRUE(got["gpus"][1]["samples"][0]["temperature_c"].is_null());
  EXPECT_EQ(got["bmc"]["fans"][0]["rpm"], 9000);
  EXPECT_EQ(got["bmc"]["automatic"], false);

  // Three heartbeat intervals (10 s each) of silence: nothing is exported any more.
  clock_.Advance(absl::Seconds(31));
  metrics = Metrics();
  EXPECT_THAT(metrics, Not(HasSubstr("gpufleet_gpu_temperature_celsius{")));
  EXPECT_THAT(metrics, Not(HasSubstr("gpufleet_host_fan_duty_ratio{")));
  EXPECT_EQ(Get()["gpus"].size(), 2u) << "the dashboard keeps the last hour";
  clock_.Advance(absl::Hours(1));
  got = Get();
  EXPECT_TRUE(got["gpus"].empty());
  EXPECT_TRUE(got["bmc"].is_null());
}

// Per-vGPU readings become metrics labelled with the VM and type the vGPU is desired for; a
// vGPU not desired on the host is kept in the reading but not exported.
TEST_F(TelemetryTest, PerVgpuReadingsAreLabelledWithTheirVm) {
  const std::string op = tc_.TokenFor("ops", "operator");
  auto created = tc_.Client().Post("/api/v1/vms", Bearer(op),
                                   nlohmann::json({{"name", "cad-1"}, {"type", "P40-8Q"}}).dump(),
                                   "application/json");
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "");
  const nlohmann::json vgpu = JsonOf(created)["vgpus"][0];
  const std::string uuid = vgpu["uuid"];
  const std::string foreign = "0badc0de-0000-4000-8000-000000000001";
  auto posted =
      Post({{"gpus",
             {{{"gpu", vgpu["gpu"]},
               {"utilisation_pct", 30},
               {"vgpus",
                {{{"uuid", uuid}, {"utilisation_pct", 25}, {"framebuffer_used_mib", 2048}},
                 {{"uuid", foreign}, {"utilisation_pct", 5}}}}}}}});
  ASSERT_EQ(posted->status, 204) << posted->body;
  const std::string metrics = Metrics();
  const std::string labels = StrCat(R"({host="r730-1",gpu=")", vgpu["gpu"].get<std::string>(),
                                    R"(",vm="cad-1",vgpu_type="P40-8Q"})");
  EXPECT_THAT(metrics, HasSubstr(StrCat("gpufleet_vgpu_utilization_ratio", labels, " 0.25")));
  EXPECT_THAT(metrics,
              HasSubstr(StrCat("gpufleet_vgpu_framebuffer_used_bytes", labels, " 2147483648")));
  EXPECT_THAT(metrics, Not(HasSubstr(" 0.05\n")));
  const nlohmann::json latest = Get()["gpus"][0]["latest"];
  ASSERT_EQ(latest["vgpus"].size(), 2u);
  EXPECT_EQ(latest["vgpus"][0]["vm"], "cad-1");
  EXPECT_EQ(latest["vgpus"][0]["type"], "P40-8Q");
  EXPECT_TRUE(latest["vgpus"][1]["vm"].is_null());
  clock_.Advance(absl::Seconds(31));
  EXPECT_THAT(Metrics(), Not(HasSubstr("gpufleet_vgpu_utilization_ratio{")));
}

TEST_F(TelemetryTest, HistoryIsDownsampledAndBounded) {
  Telemetry& t = tc_.controller().telemetry();
  const std::map<std::string, std::string, std::less<>> boards = {{std::string(kGpu1), "P40"}};
  // Two hours of readings every 2 s.
  for (int i = 0; i < 3600; ++i) {
    TelemetryReport report;
    report.gpus.push_back({.gpu = std::string(kGpu1), .temperature_c = 40.0 + i % 10});
    ASSERT_TRUE(t.Record("r730-1", report, boards).ok());
    clock_.Advance(absl::Seconds(2));
  }
  nlohmann::json samples = Get()["gpus"][0]["samples"];
  ASSERT_GE(samples.size(), 350u);
  ASSERT_LE(samples.size(), 360u);
  absl::Time previous = absl::InfinitePast();
  for (const nlohmann::json& s : samples) {
    absl::Time time;
    std::string error;
    ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, s["time"].get<std::string>(), &time, &error));
    EXPECT_GE(time - previous, absl::Seconds(10));
    EXPECT_LE(clock_.Now() - time, absl::Hours(1));
    previous = time;
  }
}

TEST_F(TelemetryTest, FanHistoryKeepsDutyRpmAndTheHottestSensor) {
  Telemetry& t = tc_.controller().telemetry();
  // An hour and a half: the BMC's automatic control, then gpufleet's manual duty.
  for (int i = 0; i < 540; ++i) {
    TelemetryReport report;
    BmcReading bmc;
    bmc.fans = {{"Fan1", 3000 + i}, {"Fan2", 5000 + i}};
    bmc.temperatures = {{"Inlet", 22}, {"GPU", 40.0 + i % 7}};
    bmc.automatic = i < 400;
    if (i >= 400) bmc.duty_pct = 55;
    report.bmc = bmc;
    ASSERT_TRUE(t.Record("r730-1", report, {}).ok());
    clock_.Advance(absl::Seconds(10));
  }
  nlohmann::json bmc = Get()["bmc"];
  ASSERT_TRUE(bmc.is_object());
  EXPECT_EQ(bmc["automatic"], false);
  nlohmann::json samples = bmc["samples"];
  ASSERT_GE(samples.size(), 350u);  // the last hour, one point per 10 s
  ASSERT_LE(samples.size(), 361u);
  const nlohmann::json& last = samples.back();
  EXPECT_EQ(last["fan_rpm"], 4000 + 539);  // the mean of the two fans
  EXPECT_EQ(last["duty_pct"], 55);
  EXPECT_GE(last["hottest_c"].get<double>(), 40);
  EXPECT_TRUE(samples.front()["duty_pct"].is_null()) << "automatic control has no duty";
}

TEST_F(TelemetryTest, ReportsAreCheckedAgainstTheInventory) {
  struct Case {
    nlohmann::json body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{"gpus", {{{"gpu", "0000:09:00.0"}}}}}, "gpus[0].gpu"},
      {{{"gpus", {{{"gpu", kGpu1}, {"temperature_c", 900}}}}}, "gpus[0].temperature_c"},
      {{{"gpus", {{{"gpu", kGpu1}, {"utilisation_pct", "high"}}}}}, "gpus[0].utilisation_pct"},
      {{{"gpus", {{{"gpu", kGpu1}}, {{"gpu", "0000:01:00.0"}}}}}, "gpus[1].gpu"},
      {{{"gpus", {{{"gpu", kGpu1}, {"fan", 1}}}}}, "gpus[0].fan"},
      {{{"gpus", nlohmann::json::array()}, {"bmc", {{"automatic", true}, {"duty_pct", 101}}}},
       "bmc.duty_pct"},
      {{{"gpus", nlohmann::json::array()},
        {"bmc", {{"automatic", true}, {"fans", {{{"name", "f"}, {"rpm", -1}}}}}}},
       "bmc.fans[0].rpm"},
      {{{"gpus", nlohmann::json::array()}, {"bmc", {{"fans", nlohmann::json::array()}}}},
       "bmc.automatic"},
      {{{"bmc", nullptr}}, "gpus"},
      {{{"gpus", {{{"gpu", kGpu1}, {"vgpus", {{{"uuid", "x"}}}}}}}}, "gpus[0].vgpus[0].uuid"},
      {{{"gpus",
         {{{"gpu", kGpu1},
           {"vgpus",
            {{{"uuid", "0badc0de-0000-4000-8000-000000000001"}, {"utilisation_pct", 101}}}}}}}},
       "gpus[0].vgpus[0].utilisation_pct"},
      {{{"gpus",
         {{{"gpu", kGpu1},
           {"vgpus",
            {{{"uuid", "0badc0de-0000-4000-8000-000000000001"}},
             {{"uuid", "0BADC0DE-0000-4000-8000-000000000001"}}}}}}}},
       "gpus[0].vgpus[1].uuid"},
      {{{"gpus", {{{"gpu", kGpu1}, {"vgpus", nlohmann::json::array({1})}}}}}, "gpus[0].vgpus[0]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body.dump());
    auto r = Post(c.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(JsonOf(r)["field"], c.field);
  }
  EXPECT_TRUE(Get()["gpus"].empty()) << "a rejected report records nothing";
  const nlohmann::json ok = {{"gpus", nlohmann::json::array()}};
  EXPECT_EQ(Post(ok, "nope", tc_.admin_token())->status, 404);
  EXPECT_EQ(Post(ok, "r730-1", viewer_)->status, 403);
  EXPECT_EQ(Post(ok, "r730-1", tc_.admin_token())->status, 204);
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/r730-1/telemetry", Bearer(agent_))->status, 403);
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/nope/telemetry", Bearer(viewer_))->status, 404);
}

TEST(TelemetryReportTest, CanonicalFormDecodesToItself) {
  const nlohmann::json body = {
      {"gpus",
       {{{"gpu", "0000:3B:00.0"},
         {"power_w", 70.5},
         {"xid", 79},
         {"vgpus",
          {{{"uuid", "0badc0de-0000-4000-8000-000000000001"}, {"utilisation_pct", 12}}}}}}},
      {"bmc",
       {{"automatic", true},
        {"duty_pct", -1},
        {"temperatures", {{{"name", "cpu0"}, {"celsius", 55}}}}}}};
  absl::StatusOr<TelemetryReport> r = DecodeTelemetryReport(body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->gpus[0].gpu, "0000:3b:00.0");
  EXPECT_FALSE(r->bmc->duty_pct.has_value()) << "-1: automatic, no manual duty";
  const nlohmann::json canonical = r->ToJson();
  absl::StatusOr<TelemetryReport> again = DecodeTelemetryReport(canonical);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToJson(), canonical);
}

}  // namespace
}  // namespace gpufleet::controller
