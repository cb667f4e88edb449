#include "agent/state.h"

#include <filesystem>

#include "agent/testing.h"
#include "common/strings.h"
#include "gtest/gtest.h"

namespace gpufleet::agent {
namespace {

AgentState Sample() {
  AgentState s;
  s.host = "r730-1";
  s.credential = "gfa_secret";
  s.desired.generation = "abc";
  s.desired.instances = {testing::Want(1, "web-1"), testing::Want(2, "big", 1, "P40-24Q")};
  s.desired.instances[1].placement = 0;
  s.owned = {testing::TestUuid(1), testing::TestUuid(2), testing::TestUuid(3)};
  s.desired.departures = {{.vm = "ws", .to = "r730-2"}, {.vm = "db", .to = "r730-3"}};
  s.desired.holds = {{.vm = "web-1", .reason = "still on r730-2"}};
  s.migrating = Departure{.vm = "db", .to = "r730-3"};
  s.departed = {"ws", "db"};
  s.unreported = {{.vm = "ws", .to = "r730-2", .stun = absl::Milliseconds(2000)},
                  {.vm = "db", .to = "r730-3", .error = "no route to r730-3"},
                  {.vm = "cad", .to = "r730-3", .unmeasured = true}};
  return s;
}

TEST(AgentStateTest, RoundTrips) {
  AgentState s = Sample();
  absl::StatusOr<AgentState> back = DecodeAgentState(EncodeAgentState(s), "state");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

// A hypervisor's message that is not UTF-8 does not stop the agent from saving its state.
TEST(AgentStateTest, MessagesThatAreNotUtf8AreSavedReplaced) {
  AgentState s = Sample();
  s.unreported = {{.vm = "ws", .to = "r730-2", .error = "bad \xff byte"}};
  absl::StatusOr<AgentState> back = DecodeAgentState(EncodeAgentState(s), "state");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->unreported[0].error, "bad ? byte");  // made reportable (wire.cc)
}

TEST(AgentStateTest, BadFieldsAreNamed) {
  struct Case {
    std::string text;
    std::string expect;
  } cases[] = {
      {"[]", "expected an object"},
      {R"({"format":2,"host":"h","desired":{"generation":"","instances":[]}})", "format"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[{"uuid":"x","vm":"a","index":0,"gpu":"g","type":"t"}]}})",
       "instances[0].uuid: not a UUID"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"owned":["nope"]})",
       "owned[0]: not a UUID"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"extra":1})", "extra"},
      {"{", "state"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[],"holds":[{"vm":""}]}})",
       "holds[0].reason"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[],"holds":[{"vm":"","reason":"x"}]}})",
       "holds[0]: vm must be 1 to 253 characters"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[],"holds":{}}})", "holds"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"migrating":{"vm":"a"}})",
       "migrating.to"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"migrating":{"vm":"","to":"b"}})",
       "migrating: vm and to must be 1 to 253 characters"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"migrations":[{"vm":"a","to":"b","unmeasured":true,"error":"x"}]})",
       "exactly one of stun_ms, error and unmeasured"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"departed":[3]})",
       "departed[0]: expected a VM name"},
      {StrCat(R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"departed":[")",
              std::string(254, 'v'), R"("]})"),
       "departed[0]: expected a VM name of 1 to 253 characters, got a string of 254"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"migrations":[{"vm":"a","to":"b"}]})",
       "migrations[0].stun_ms: exactly one of stun_ms, error and unmeasured"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"migrations":[{"vm":"a","to":"b","stun_ms":-1}]})",
       "migrations[0].stun_ms"},
      {R"({"format":1,"host":"h","desired":{"generation":"","instances":[]},"migrations":{}})",
       "migrations"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<AgentState> s = DecodeAgentState(c.text, "state");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(s.status().message()).find(c.expect), std::string::npos)
        << s.status() << " for " << c.text;
  }
}

// A file written before live migration existed (no departed, no migrations) still loads.
TEST(AgentStateTest, OlderFilesLoad) {
  absl::StatusOr<AgentState> s = DecodeAgentState(
      R"({"format":1,"host":"h","credential":"c","desired":{"generation":"g","instances":[]},"owned":[]})",
      "state");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->departed.empty());
  EXPECT_TRUE(s->unreported.empty());
}

TEST(StateFileTest, SavesAndLoadsThroughTheRealFileSystem) {
  std::string dir = ::testing::TempDir() + "/agent_state_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::unique_ptr<os::FileSystem> fs = os::NewPosixFileSystem("/");
  StateFile file(*fs, dir + "/nested");
  absl::StatusOr<std::optional<AgentState>> none = file.Load();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(file.Save(Sample()).ok());
  absl::StatusOr<std::optional<AgentState>> loaded = file.Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, Sample());
  EXPECT_EQ(std::filesystem::status(file.path()).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gpufleet::agent
