// The agent-facing routes over real HTTP: the desired instances of a host with their generation
// and If-None-Match, the observed instances an agent reports (events on change, VM phases,
// validation), and `observed` on the VMs.

#include "controller/agent_sync.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using testing::Bearer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::JsonOf;
using testing::P40Host;
using testing::TempDir;
using testing::TestController;

constexpr std::string_view kForeign = "0badc0de-0000-4000-8000-000000000001";
const std::vector<nlohmann::json> kNothing;

nlohmann::json Instance(std::string_view uuid, std::string_view gpu = "0000:01:00.0",
                        std::string_view type = "P40-8Q") {
  return {{"uuid", uuid}, {"gpu", gpu}, {"type", type}};
}

class AgentSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    op_ = tc_.TokenFor("ops", "operator");
    viewer_ = tc_.TokenFor("vera", "viewer");
    // r730-2 is in maintenance: every VM is placed on r730-1.
    nlohmann::json spare = P40Host(1);
    spare["state"] = "maintenance";
    ASSERT_EQ(PutHost("r730-1", P40Host(2)), 201);
    ASSERT_EQ(PutHost("r730-2", spare), 201);
    agent_ = tc_.AgentFor("r730-1");
    other_agent_ = tc_.AgentFor("r730-2");
  }
  int PutHost(std::string_view name, const nlohmann::json& body) {
    auto r = tc_.Client().Put(StrCat("/api/v1/hosts/", name), Bearer(tc_.admin_token()),
                              body.dump(), "application/json");
    return r ? r->status : -1;
  }
  // Places `name` and returns its vGPUs' UUIDs.
  std::vector<std::string> CreateVm(std::string_view name, int vgpus) {
    auto r = tc_.Client().Post(
        "/api/v1/vms", Bearer(op_),
        nlohmann::json({{"name", name}, {"type", "P40-8Q"}, {"vgpus", vgpus}}).dump(),
        "application/json");
    std::vector<std::string> uuids;
    if (!r || r->status != 201) {
      ADD_FAILURE() << "cannot place " << name << ": " << (r ? r->body : "no response");
      return uuids;
    }
    const nlohmann::json vm = JsonOf(r);
    for (const auto& v : vm["vgpus"]) {
      EXPECT_EQ(v["host"], "r730-1");
      EXPECT_EQ(v["observed"], false);
      uuids.push_back(v["uuid"]);
    }
    return uuids;
  }
  httplib::Result Report(const std::vector<nlohmann::json>& instances,
                         std::string_view host = "r730-1", std::string_view token = "") {
    return tc_.Client().Put(StrCat("/api/v1/hosts/", host, "/instances"),
                            Bearer(token.empty() ? agent_ : token),
                            nlohmann::json({{"instances", instances}}).dump(), "application/json");
  }
  nlohmann::json Vm(std::string_view name) {
    return JsonOf(tc_.Client().Get(StrCat("/api/v1/vms/", name), Bearer(viewer_)));
  }
  // Points the desired instance `uuid` at `host`, waiting for `migrate_from` ("" = none), as a
  // move step does.
  void MoveDesired(const std::string& uuid, std::string_view host, std::string_view migrate_from) {
    ASSERT_TRUE(tc_.store()
                    .Write([&](store::WriteTx& tx) -> absl::Status {
                      absl::StatusOr<store::DesiredInstance> d =
                          tx.GetDesiredInstance(*Uuid::Parse(uuid));
                      if (!d.ok()) return d.status();
                      d->host = std::string(host);
                      d->migrate_from = std::string(migrate_from);
                      return tx.UpdateDesiredInstance(*d);
                    })
                    .ok());
  }
  std::size_t EventCount(std::string_view kind) {
    return JsonOf(tc_.Client().Get(StrCat("/api/v1/events?kind=", kind), Bearer(viewer_)))["items"]
        .size();
  }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string op_, viewer_, agent_, other_agent_;
};

TEST_F(AgentSyncTest, DesiredStateCarriesAGenerationForIfNoneMatch) {
  httplib::Client c = tc_.Client();
  auto empty = c.Get("/api/v1/hosts/r730-1/desired", Bearer(agent_));
  ASSERT_TRUE(empty);
  ASSERT_EQ(empty->status, 200) << empty->body;
  const std::string empty_generation = JsonOf(empty)["generation"];
  EXPECT_TRUE(JsonOf(empty)["instances"].empty());

  std::vector<std::string> uuids = CreateVm("web-1", 2);
  std::vector<std::string> more = CreateVm("web-2", 1);
  uuids.insert(uuids.end(), more.begin(), more.end());
  std::sort(uuids.begin(), uuids.end());
  auto full = c.Get("/api/v1/hosts/r730-1/desired", Bearer(agent_));
  ASSERT_EQ(full->status, 200);
  nlohmann::json body = JsonOf(full);
  EXPECT_EQ(body["host"], "r730-1");
  const std::string generation = body["generation"];
  EXPECT_EQ(generation.size(), 32u);
  EXPECT_NE(generation, empty_generation);
  EXPECT_EQ(full->get_header_value("ETag"), StrCat("\"", generation, "\""));
  ASSERT_EQ(body["instances"].size(), 3u);
  for (std::size_t i = 0; i < uuids.size(); ++i) {
    EXPECT_EQ(body["instances"][i]["uuid"], uuids[i]) << "sorted by uuid";
    EXPECT_EQ(body["instances"][i]["type"], "P40-8Q");
    EXPECT_TRUE(body["instances"][i].contains("placement"));
    EXPECT_TRUE(body["instances"][i].contains("gpu"));
  }
  EXPECT_EQ(body["instances"][0]["vm"].get<std::string>().substr(0, 4), "web-");

  for (const std::string& header : std::vector<std::string>{
           StrCat("\"", generation, "\""), StrCat("\"x\", W/\"", generation, "\""), "*"}) {
    auto same = c.Get("/api/v1/hosts/r730-1/desired",
                      {{"Authorization", StrCat("Bearer ", agent_)}, {"If-None-Match", header}});
    EXPECT_EQ(same->status, 304) << header;
    EXPECT_TRUE(same->body.empty());
    EXPECT_EQ(same->get_header_value("ETag"), StrCat("\"", generation, "\""));
  }
  // A viewer reads it too; the generation is stable across reads and restarts.
  EXPECT_EQ(JsonOf(c.Get("/api/v1/hosts/r730-1/desired", Bearer(viewer_)))["generation"],
            generation);
  tc_.Stop();
  ASSERT_TRUE(tc_.Start().ok());
  EXPECT_EQ(JsonOf(tc_.Client().Get("/api/v1/hosts/r730-1/desired", Bearer(agent_)))["generation"],
            generation);

  ASSERT_EQ(tc_.Client().Delete("/api/v1/vms/web-2", Bearer(op_))->status, 204);
  auto changed = tc_.Client().Get("/api/v1/hosts/r730-1/desired",
                                  {{"Authorization", StrCat("Bearer ", agent_)},
                                   {"If-None-Match", StrCat("\"", generation, "\"")}});
  EXPECT_EQ(changed->status, 200);
  EXPECT_EQ(JsonOf(changed)["instances"].size(), 2u);

  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/r730-1/desired", Bearer(other_agent_))->status, 403);
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/nope/desired", Bearer(viewer_))->status, 404);
}

TEST_F(AgentSyncTest, ObservationsRecordEventsOnChangeAndMoveVmPhases) {
  std::vector<std::string> web = CreateVm("web-1", 2);
  ASSERT_EQ(web.size(), 2u);
  EXPECT_EQ(Vm("web-1")["phase"], "placed");

  auto partial = Report({Instance(web[0])});
  ASSERT_TRUE(partial);
  ASSERT_EQ(partial->status, 200) << partial->body;
  nlohmann::json body = JsonOf(partial);
  EXPECT_EQ(body["host"], "r730-1");
  EXPECT_EQ(body["observed"], 1);
  EXPECT_THAT(body["missing"], ElementsAre(web[1]));
  EXPECT_TRUE(body["foreign"].empty());
  nlohmann::json vm = Vm("web-1");
  EXPECT_EQ(vm["phase"], "placed");
  EXPECT_EQ(vm["vgpus"][0]["observed"], true);
  EXPECT_EQ(vm["vgpus"][1]["observed"], false);
  EXPECT_EQ(EventCount("instance.observed"), 1u);

  auto all = Report({Instance(web[0]), Instance(web[1], "0000:02:00.0")});
  EXPECT_EQ(JsonOf(all)["observed"], 2);
  EXPECT_TRUE(JsonOf(all)["missing"].empty());
  vm = Vm("web-1");
  EXPECT_EQ(vm["phase"], "running");
  EXPECT_EQ(EventCount("instance.observed"), 2u);
  const nlohmann::json listed =
      JsonOf(tc_.Client().Get("/api/v1/vms", Bearer(viewer_)))["items"][0];
  EXPECT_EQ(listed["vgpus"][1]["observed"], true);

  // The same report again changes nothing: no event, no write.
  const int64_t seq = tc_.store().LastEventSeq();
  auto again = Report({Instance(web[1], "0000:02:00.0"), Instance(web[0])});
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(tc_.store().LastEventSeq(), seq);
  EXPECT_EQ(Vm("web-1")["version"], vm["version"]);

  auto lost = Report({Instance(web[0]), Instance(kForeign)});
  body = JsonOf(lost);
  EXPECT_THAT(body["missing"], ElementsAre(web[1]));
  EXPECT_THAT(body["foreign"], ElementsAre(std::string(kForeign)));
  EXPECT_EQ(Vm("web-1")["phase"], "placed");
  EXPECT_EQ(EventCount("instance.lost"), 1u);
  EXPECT_EQ(EventCount("instance.foreign"), 1u);
  auto events = JsonOf(tc_.Client().Get("/api/v1/events?kind=instance.lost", Bearer(viewer_)));
  EXPECT_EQ(events["items"][0]["object"], "vm/web-1");
  EXPECT_EQ(events["items"][0]["actor"], "agent:r730-1");
  EXPECT_THAT(events["items"][0]["message"].get<std::string>(), HasSubstr(web[1]));
  Report({Instance(web[0]), Instance(kForeign)});
  EXPECT_EQ(EventCount("instance.foreign"), 1u) << "only when it first appears";

  // Another host reporting the same UUID (a move's source still tearing its copy down: UUIDs
  // derive from the VM) does not take the observation from the host where it is desired.
  auto leftover = Report({Instance(web[0])}, "r730-2", other_agent_);
  ASSERT_EQ(leftover->status, 200) << leftover->body;
  EXPECT_THAT(JsonOf(leftover)["foreign"], ElementsAre(web[0]));
  EXPECT_EQ(Vm("web-1")["vgpus"][0]["observed"], true);
  ASSERT_EQ(Report(kNothing, "r730-2", other_agent_)->status, 200);  // its teardown ends
  EXPECT_EQ(Vm("web-1")["vgpus"][0]["observed"], true);
  EXPECT_EQ(EventCount("instance.lost"), 1u);

  // When the desired host no longer has it, a copy elsewhere is what there is: it takes over.
  Report({Instance(kForeign)});
  auto moved = Report({Instance(web[0])}, "r730-2", other_agent_);
  ASSERT_EQ(moved->status, 200) << moved->body;
  EXPECT_EQ(Vm("web-1")["vgpus"][0]["observed"], false);
}

TEST_F(AgentSyncTest, TheHostsObservedInstancesCanBeReadBack) {
  std::vector<std::string> web = CreateVm("web-1", 2);
  ASSERT_EQ(web.size(), 2u);
  auto none = tc_.Client().Get("/api/v1/hosts/r730-1/instances", Bearer(viewer_));
  ASSERT_EQ(none->status, 200) << none->body;
  EXPECT_TRUE(JsonOf(none)["items"].empty());
  EXPECT_EQ(JsonOf(none)["missing"].size(), 2u);

  ASSERT_EQ(Report({Instance(web[0]), Instance(kForeign)})->status, 200);
  nlohmann::json got = JsonOf(tc_.Client().Get("/api/v1/hosts/r730-1/instances", Bearer(agent_)));
  EXPECT_EQ(got["host"], "r730-1");
  ASSERT_EQ(got["items"].size(), 2u);
  std::map<std::string, std::string> state;
  for (const nlohmann::json& i : got["items"]) state[i["uuid"]] = i["state"];
  EXPECT_EQ(state[web[0]], "desired");
  EXPECT_EQ(state[std::string(kForeign)], "foreign");
  ASSERT_EQ(got["missing"].size(), 1u);
  EXPECT_EQ(got["missing"][0]["uuid"], web[1]);
  EXPECT_EQ(got["missing"][0]["vm"], "web-1");

  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/r730-1/instances", Bearer(other_agent_))->status, 403);
  EXPECT_EQ(tc_.Client().Get("/api/v1/hosts/nope/instances", Bearer(viewer_))->status, 404);
}

// A copy another host still reports after the VM's instance is observed where it is desired is
// a leftover of that host until one of its reports leaves it out; so is the copy of the host
// whose observation a report takes over (the move's source, until it reports again).
TEST_F(AgentSyncTest, LeftoverCopiesAreTrackedUntilTheirHostReportsThemGone) {
  std::vector<std::string> web = CreateVm("web-1", 1);
  ASSERT_EQ(web.size(), 1u);
  auto leftovers = [&](std::string_view host) {
    return JsonOf(tc_.Client().Get(StrCat("/api/v1/hosts/", host, "/instances"),
                                   Bearer(viewer_)))["leftovers"];
  };
  ASSERT_EQ(Report({Instance(web[0])})->status, 200);
  EXPECT_TRUE(leftovers("r730-1").empty());
  ASSERT_EQ(Report({Instance(web[0])}, "r730-2", other_agent_)->status, 200);
  ASSERT_EQ(leftovers("r730-2").size(), 1u);
  EXPECT_EQ(leftovers("r730-2")[0]["uuid"], web[0]);
  EXPECT_EQ(leftovers("r730-2")[0]["vm"], "web-1");
  ASSERT_EQ(Report(kNothing, "r730-2", other_agent_)->status, 200);
  EXPECT_TRUE(leftovers("r730-2").empty());

  // The VM moves to r730-2 (as a migrate does, by its desired instance); r730-2 reports first.
  ASSERT_TRUE(tc_.store()
                  .Write([&](store::WriteTx& tx) -> absl::Status {
                    absl::StatusOr<store::DesiredInstance> d =
                        tx.GetDesiredInstance(*Uuid::Parse(web[0]));
                    if (!d.ok()) return d.status();
                    d->host = "r730-2";
                    d->gpu = "0000:01:00.0";
                    return tx.UpdateDesiredInstance(*d);
                  })
                  .ok());
  ASSERT_EQ(Report({Instance(web[0])}, "r730-2", other_agent_)->status, 200);
  EXPECT_EQ(Vm("web-1")["vgpus"][0]["observed"], true);
  ASSERT_EQ(leftovers("r730-1").size(), 1u) << "r730-1 had it at its last report";
  ASSERT_EQ(Report({Instance(web[0])})->status, 200);  // still tearing down
  EXPECT_EQ(leftovers("r730-1").size(), 1u);
  EXPECT_EQ(Vm("web-1")["vgpus"][0]["observed"], true);
  ASSERT_EQ(Report(kNothing)->status, 200);
  EXPECT_TRUE(leftovers("r730-1").empty());
  EXPECT_TRUE(leftovers("r730-2").empty());
}

// A deleted host takes its last creatable types with it: registered again under the same name,
// it shows none until its agent reports.
TEST_F(AgentSyncTest, ADeletedHostForgetsItsCreatableTypes) {
  auto r = tc_.Client().Put(
      "/api/v1/hosts/r730-2/instances", Bearer(other_agent_),
      nlohmann::json(
          {{"instances", nlohmann::json::array()},
           {"creatable",
            {{{"gpu", "0000:01:00.0"}, {"types", {{{"type", "P40-8Q"}, {"available", 3}}}}}}}})
          .dump(),
      "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  auto creatable = [&] {
    return JsonOf(tc_.Client().Get("/api/v1/hosts/r730-2/instances", Bearer(viewer_)))["creatable"];
  };
  ASSERT_EQ(creatable().size(), 1u);
  auto deleted = tc_.Client().Delete("/api/v1/hosts/r730-2", Bearer(tc_.admin_token()));
  ASSERT_EQ(deleted->status, 204) << deleted->body;
  nlohmann::json spare = P40Host(1);
  spare["state"] = "maintenance";
  ASSERT_EQ(PutHost("r730-2", spare), 201);
  EXPECT_TRUE(creatable().empty());
}

// A moved VM is held on its new host (listed under `holds` in that host's desired document, so
// its agent does not start it) while another host that is not down may still run it.
TEST_F(AgentSyncTest, AMovedVmIsHeldOnItsNewHostWhileAnotherHostMayRunIt) {
  std::vector<std::string> web = CreateVm("web-1", 1);
  ASSERT_EQ(web.size(), 1u);
  nlohmann::json running = Instance(web[0]);
  running["active"] = true;
  auto holds = [&](std::string_view host) {
    return JsonOf(
        tc_.Client().Get(StrCat("/api/v1/hosts/", host, "/desired"), Bearer(viewer_)))["holds"];
  };
  auto set_state = [&](std::string_view host, store::HostState state) {
    ASSERT_TRUE(tc_.store()
                    .Write([&](store::WriteTx& tx) -> absl::Status {
                      absl::StatusOr<store::Host> h = tx.GetHost(host);
                      if (!h.ok()) return h.status();
                      h->state = state;
                      return tx.UpdateHost(*h);
                    })
                    .ok());
  };
  const nlohmann::json held_on_1 = {{{"vm", "web-1"}, {"reason", "still on r730-1"}}};
  ASSERT_EQ(Report({running})->status, 200);
  EXPECT_TRUE(holds("r730-1").empty()) << "it runs there";

  MoveDesired(web[0], "r730-2", "");  // a cold move: r730-1 still runs it
  EXPECT_EQ(holds("r730-2"), held_on_1);
  set_state("r730-1", store::HostState::kDown);
  EXPECT_TRUE(holds("r730-2").empty()) << "a down host does not hold an HA restart";
  set_state("r730-1", store::HostState::kReady);
  ASSERT_EQ(Report({Instance(web[0])}, "r730-2", other_agent_)->status, 200);
  EXPECT_EQ(holds("r730-2"), held_on_1) << "r730-1's copy is a leftover now";
  ASSERT_EQ(Report(kNothing)->status, 200);
  EXPECT_TRUE(holds("r730-2").empty());

  MoveDesired(web[0], "r730-2", "r730-1");  // a live migration the source has not reported yet
  EXPECT_EQ(holds("r730-2"),
            nlohmann::json({{{"vm", "web-1"}, {"reason", "live-migrating from r730-1"}}}));
  set_state("r730-1", store::HostState::kDown);
  EXPECT_TRUE(holds("r730-2").empty())
      << "a source that died during the migration does not hold the VM: it starts cold";
  set_state("r730-1", store::HostState::kReady);
  ASSERT_EQ(Report({running}, "r730-2", other_agent_)->status, 200);
  EXPECT_TRUE(holds("r730-2").empty()) << "it runs there now";
}

// Reports at once find a new message new only once (one event); an Add whose events could not
// be written is taken back, so the agent's resend is new again and counted once.
TEST(AgentErrorsByHostTest, OneReportFindsAMessageNewAndAFailedOneIsTakenBack) {
  AgentErrorsByHost errors;
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const std::vector<AgentErrorReport> report = {{.message = "sysfs: EIO", .count = 2}};
  std::atomic<int> fresh{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { fresh += static_cast<int>(errors.Add("h1", report, now).size()); });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 1);
  ASSERT_EQ(errors.Get("h1", now).size(), 1u);
  EXPECT_EQ(errors.Get("h1", now)[0].count, 16);

  const std::vector<AgentErrorReport> next = {{.message = "sysfs: EIO", .count = 3},
                                              {.message = "list vms: timeout", .count = 1}};
  const std::vector<AgentErrorReport> added = errors.Add("h1", next, now);
  ASSERT_EQ(added.size(), 1u);
  errors.Withdraw("h1", next, added);  // its event could not be written
  ASSERT_EQ(errors.Get("h1", now).size(), 1u);
  EXPECT_EQ(errors.Get("h1", now)[0].count, 16);
  EXPECT_EQ(errors.Add("h1", next, now).size(), 1u) << "the resend is new again";
  std::map<std::string, long long> counts;
  for (const AgentErrorsByHost::Entry& e : errors.Get("h1", now)) counts[e.message] = e.count;
  EXPECT_EQ(counts,
            (std::map<std::string, long long>{{"sysfs: EIO", 19}, {"list vms: timeout", 1}}));
}

// A VM found in use on two hosts (its old host was cut off, not dead, when it moved) is an
// event at once, from whichever report shows it; again only ten minutes later.
TEST_F(AgentSyncTest, AVmRunningOnTwoHostsIsAnEvent) {
  std::vector<std::string> web = CreateVm("web-1", 1);
  ASSERT_EQ(web.size(), 1u);
  nlohmann::json running = Instance(web[0]);
  running["active"] = true;
  ASSERT_EQ(Report({running})->status, 200);
  MoveDesired(web[0], "r730-2", "");  // restarted on r730-2 while r730-1 was silent
  ASSERT_EQ(Report({running}, "r730-2", other_agent_)->status, 200);
  ASSERT_EQ(EventCount("vm.running-twice"), 1u);
  nlohmann::json event =
      JsonOf(tc_.Client().Get("/api/v1/events?kind=vm.running-twice", Bearer(viewer_)))["items"][0];
  EXPECT_EQ(event["object"], "vm/web-1");
  EXPECT_THAT(event["message"].get<std::string>(),
              HasSubstr("vm web-1 runs on r730-2 and on r730-1"));
  EXPECT_EQ(event["data"]["also_on"], "r730-1");
  ASSERT_EQ(Report({running})->status, 200);  // r730-1 comes back, still running it
  EXPECT_EQ(EventCount("vm.running-twice"), 1u) << "the same finding within ten minutes";
  clock_.Advance(absl::Minutes(11));
  ASSERT_EQ(Report({running})->status, 200);
  ASSERT_EQ(EventCount("vm.running-twice"), 2u) << "still running twice";
  event =
      JsonOf(tc_.Client().Get("/api/v1/events?kind=vm.running-twice", Bearer(viewer_)))["items"][0];
  EXPECT_EQ(event["data"]["desired_on"], "r730-2");
  clock_.Advance(absl::Minutes(11));
  ASSERT_EQ(Report({Instance(web[0])})->status, 200);  // stopped there, the mdev not yet gone
  ASSERT_EQ(Report(kNothing)->status, 200);
  EXPECT_EQ(EventCount("vm.running-twice"), 2u) << "a copy not in use is no double run";
}

// A source agent restarted during a live migration finds the VM gone and reports it migrated
// without a pause: recorded as live-migrated, the wait cleared.
TEST_F(AgentSyncTest, AMigrationWhosePauseWasNotMeasuredIsRecordedAsLive) {
  std::vector<std::string> web = CreateVm("web-1", 1);
  ASSERT_EQ(web.size(), 1u);
  MoveDesired(web[0], "r730-2", "r730-1");
  auto r = tc_.Client().Put(
      "/api/v1/hosts/r730-1/instances", Bearer(agent_),
      nlohmann::json({{"instances", nlohmann::json::array()},
                      {"migrations", {{{"vm", "web-1"}, {"to", "r730-2"}, {"unmeasured", true}}}}})
          .dump(),
      "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(JsonOf(r)["migrations"], 1);
  nlohmann::json events =
      JsonOf(tc_.Client().Get("/api/v1/events?kind=vm.live-migrated", Bearer(viewer_)))["items"];
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0]["message"].get<std::string>(),
              HasSubstr("live-migrated from r730-1 to r730-2; its pause was not measured"));
  EXPECT_TRUE(events[0]["data"]["stun_ms"].is_null());
  EXPECT_TRUE(
      JsonOf(tc_.Client().Get("/api/v1/hosts/r730-2/desired", Bearer(viewer_)))["holds"].empty())
      << "the wait for r730-1 is over";
}

// Problems an agent reports become an `agent.error` event the first time (again after an hour
// of silence), and are listed with their counts beside the host's instances.
TEST_F(AgentSyncTest, AgentProblemsBecomeEventsAndAreListed) {
  auto put = [&](const nlohmann::json& errors) {
    return tc_.Client().Put(
        "/api/v1/hosts/r730-1/instances", Bearer(agent_),
        nlohmann::json({{"instances", nlohmann::json::array()}, {"errors", errors}}).dump(),
        "application/json");
  };
  const nlohmann::json create_failed = {
      {{"message", "create 0badc0de-...: write available_instances: Device busy"}, {"count", 3}}};
  ASSERT_EQ(put(create_failed)->status, 200);
  ASSERT_EQ(EventCount("agent.error"), 1u);
  nlohmann::json event =
      JsonOf(tc_.Client().Get("/api/v1/events?kind=agent.error", Bearer(viewer_)))["items"][0];
  EXPECT_EQ(event["object"], "host/r730-1");
  EXPECT_THAT(event["message"].get<std::string>(),
              HasSubstr("the agent of r730-1 reports: create 0badc0de-...: write "
                        "available_instances: Device busy (3 times since its last report)"));
  ASSERT_EQ(put(create_failed)->status, 200);
  EXPECT_EQ(EventCount("agent.error"), 1u) << "a known problem is counted, not repeated";
  auto listed = [&] {
    return JsonOf(tc_.Client().Get("/api/v1/hosts/r730-1/instances", Bearer(viewer_)))["errors"];
  };
  ASSERT_EQ(listed().size(), 1u);
  EXPECT_EQ(listed()[0]["count"], 6);
  clock_.Advance(absl::Minutes(61));
  EXPECT_TRUE(listed().empty()) << "an hour without it";
  ASSERT_EQ(put(create_failed)->status, 200);
  EXPECT_EQ(EventCount("agent.error"), 2u);
  EXPECT_EQ(listed()[0]["count"], 3);
  // One message twice in a report is one problem: one event, the counts added.
  ASSERT_EQ(
      put({{{"message", "sysfs: EIO"}, {"count", 2}}, {{"message", "sysfs: EIO"}, {"count", 5}}})
          ->status,
      200);
  EXPECT_EQ(EventCount("agent.error"), 3u);
  ASSERT_EQ(listed().size(), 2u);
  EXPECT_EQ(listed()[1]["count"], 7);

  const std::vector<std::pair<nlohmann::json, std::string>> bad = {
      {{{{"message", ""}, {"count", 1}}}, "errors[0].message"},
      {{{{"message", "two\nlines"}, {"count", 1}}}, "errors[0].message"},
      {{{{"message", std::string(1025, 'x')}, {"count", 1}}}, "errors[0].message"},
      {{{{"message", "x"}, {"count", 0}}}, "errors[0].count"},
      {{{{"message", "x"}}}, "errors[0].count"},
      {nlohmann::json(std::vector<nlohmann::json>(17, {{"message", "x"}, {"count", 1}})), "errors"},
  };
  for (const auto& [errors, field] : bad) {
    SCOPED_TRACE(errors.dump().substr(0, 80));
    auto r = put(errors);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_EQ(JsonOf(r)["field"], field);
  }
  EXPECT_EQ(EventCount("agent.error"), 3u);
}

// The driver's view of what each GPU can still create goes up with the instances, is checked
// against the host's inventory, and is read back beside them.
TEST_F(AgentSyncTest, CreatableTypesAreCheckedAndReadBack) {
  auto put = [&](const nlohmann::json& creatable) {
    return tc_.Client().Put(
        "/api/v1/hosts/r730-1/instances", Bearer(agent_),
        nlohmann::json({{"instances", nlohmann::json::array()}, {"creatable", creatable}}).dump(),
        "application/json");
  };
  auto ok =
      put({{{"gpu", "0000:01:00.0"},
            {"types",
             {{{"type", "p40-8q"}, {"available", 3}}, {{"type", "P40-24Q"}, {"available", 1}}}}}});
  ASSERT_EQ(ok->status, 200) << ok->body;
  nlohmann::json got = JsonOf(tc_.Client().Get("/api/v1/hosts/r730-1/instances", Bearer(viewer_)));
  ASSERT_EQ(got["creatable"].size(), 1u);
  EXPECT_EQ(got["creatable"][0]["gpu"], "0000:01:00.0");
  EXPECT_EQ(got["creatable"][0]["types"][0],
            nlohmann::json({{"type", "P40-8Q"}, {"available", 3}}));
  struct Case {
    nlohmann::json creatable;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{{{"gpu", "0000:09:00.0"}, {"types", nlohmann::json::array()}}}, "creatable[0].gpu"},
      {{{{"gpu", "0000:01:00.0"}, {"types", {{{"type", "T4-4Q"}, {"available", 1}}}}}},
       "creatable[0].types[0].type"},
      {{{{"gpu", "0000:01:00.0"}, {"types", {{{"type", "P40-8Q"}, {"available", -1}}}}}},
       "creatable[0].types[0].available"},
      {{{{"gpu", "0000:01:00.0"},
         {"types",
          {{{"type", "P40-8Q"}, {"available", 1}}, {{"type", "P40-8Q"}, {"available", 2}}}}}},
       "creatable[0].types[1].type"},
      {{{{"gpu", "0000:01:00.0"}}}, "creatable[0].types"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.creatable.dump());
    auto r = put(c.creatable);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_EQ(JsonOf(r)["field"], c.field);
  }
  got = JsonOf(tc_.Client().Get("/api/v1/hosts/r730-1/instances", Bearer(viewer_)));
  EXPECT_EQ(got["creatable"][0]["types"][0]["available"], 3) << "a rejected report changes nothing";
  ASSERT_EQ(Report(kNothing)->status, 200);  // an agent that does not say forgets it
  EXPECT_TRUE(
      JsonOf(tc_.Client().Get("/api/v1/hosts/r730-1/instances", Bearer(viewer_)))["creatable"]
          .empty());
}

TEST_F(AgentSyncTest, RunningVmGoesBackToPlacedWhenAllInstancesDisappear) {
  std::vector<std::string> web = CreateVm("web-1", 1);
  Report({Instance(web[0])});
  EXPECT_EQ(Vm("web-1")["phase"], "running");
  auto gone = Report(kNothing);
  EXPECT_EQ(JsonOf(gone)["observed"], 0);
  EXPECT_EQ(Vm("web-1")["phase"], "placed");
  EXPECT_EQ(EventCount("instance.lost"), 1u);
}

TEST_F(AgentSyncTest, ReportsAreValidatedNamingTheField) {
  struct Case {
    std::vector<nlohmann::json> instances;
    std::string field;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{Instance("not-a-uuid")}, "instances[0].uuid", "instances[0].uuid: not a UUID"},
      {{Instance(kForeign, "0000:09:00.0")}, "instances[0].gpu", "has no GPU"},
      {{Instance(kForeign, "0000:01:00.0", "P40-99Q")}, "instances[0].type", ""},
      {{Instance(kForeign, "0000:01:00.0", "T4-4Q")}, "instances[0].type", "not a type of board"},
      {{Instance(kForeign), Instance(kForeign)}, "instances[1].uuid", "twice"},
      {{{{"uuid", kForeign}, {"gpu", "0000:01:00.0"}, {"type", "P40-8Q"}, {"placement", 5000}}},
       "instances[0].placement",
       ""},
      {{{{"uuid", kForeign}, {"gpu", "0000:01:00.0"}, {"type", "P40-8Q"}, {"vm", "a\nb"}}},
       "instances[0].vm",
       ""},
      {{{{"uuid", kForeign}, {"gpu", "0000:01:00.0"}, {"type", "P40-8Q"}, {"colour", 1}}},
       "instances[0].colour",
       "unknown field"},
      {{1}, "instances[0]", "expected an object"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(nlohmann::json(c.instances).dump());
    auto r = Report(c.instances);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(JsonOf(r)["field"], c.field);
    EXPECT_THAT(JsonOf(r)["message"].get<std::string>(), HasSubstr(c.message));
  }
  auto missing =
      tc_.Client().Put("/api/v1/hosts/r730-1/instances", Bearer(agent_), "{}", "application/json");
  EXPECT_EQ(JsonOf(missing)["field"], "instances");
  const std::vector<nlohmann::json> too_many(kMaxReportedInstances + 1, 1);
  EXPECT_EQ(JsonOf(Report(too_many))["field"], "instances");

  // Migrations: each either migrated (stun_ms) or not (error), with names that are names.
  const std::vector<std::pair<nlohmann::json, std::string>> migrations = {
      {{{"vm", "a"}, {"to", "r730-2"}}, "migrations[0]"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"stun_ms", 5}, {"error", "x"}}, "migrations[0]"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"stun_ms", -1}}, "migrations[0].stun_ms"},
      {{{"vm", "a b"}, {"to", "r730-2"}, {"stun_ms", 5}}, "migrations[0].vm"},
      {{{"vm", "a"}, {"to", ""}, {"stun_ms", 5}}, "migrations[0].to"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"error", std::string(2000, 'x')}}, "migrations[0].error"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"stun_ms", 5}, {"when", 1}}, "migrations[0].when"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"error", "two\nlines"}}, "migrations[0].error"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"stun_ms", 5}, {"unmeasured", true}}, "migrations[0]"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"unmeasured", false}}, "migrations[0]"},
      {{{"vm", "a"}, {"to", "r730-2"}, {"unmeasured", "yes"}}, "migrations[0].unmeasured"},
  };
  for (const auto& [m, field] : migrations) {
    SCOPED_TRACE(m.dump());
    nlohmann::json body = {{"instances", nlohmann::json::array()},
                           {"migrations", nlohmann::json::array({m})}};
    auto r = tc_.Client().Put("/api/v1/hosts/r730-1/instances", Bearer(agent_), body.dump(),
                              "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(JsonOf(r)["field"], field) << r->body;
  }

  EXPECT_EQ(Report(kNothing, "r730-2")->status, 403) << "an agent reports only its own host";
  EXPECT_EQ(Report(kNothing, "r730-1", viewer_)->status, 403);
  EXPECT_EQ(Report(kNothing, "r730-1", op_)->status, 403);
  EXPECT_EQ(Report(kNothing, "r730-1", tc_.admin_token())->status, 200);
  EXPECT_EQ(Report(kNothing, "nope", tc_.admin_token())->status, 404);
  EXPECT_EQ(EventCount("instance.foreign"), 0u) << "a rejected report writes nothing";
}

TEST_F(AgentSyncTest, LargeReportsAreOneTransactionWithBoundedEvents) {
  std::vector<nlohmann::json> instances;
  for (std::size_t i = 0; i < kMaxReportedInstances; ++i) {
    char uuid[40];
    std::snprintf(uuid, sizeof uuid, "0badc0de-0000-4000-8000-%012zx", i);
    instances.push_back(Instance(uuid, i % 2 == 0 ? "0000:01:00.0" : "0000:02:00.0"));
  }
  auto r = Report(instances);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_EQ(JsonOf(r)["foreign"].size(), kMaxReportedInstances);
  auto events = JsonOf(tc_.Client().Get("/api/v1/events?kind=instance.foreign&limit=1000",
                                        Bearer(viewer_)))["items"];
  ASSERT_EQ(events.size(), static_cast<std::size_t>(AgentSync::kMaxEventsPerKind) + 1);
  EXPECT_THAT(events.back()["message"].get<std::string>(),
              HasSubstr(StrCat(kMaxReportedInstances - AgentSync::kMaxEventsPerKind, " more")));
}

TEST(IfNoneMatchTest, ListsWeakTagsAndStar) {
  api::Request r;
  EXPECT_FALSE(IfNoneMatchHits(r, "\"a\""));
  r.headers.Set("If-None-Match", " \"b\" ,W/\"a\"");
  EXPECT_TRUE(IfNoneMatchHits(r, "\"a\""));
  EXPECT_FALSE(IfNoneMatchHits(r, "\"c\""));
  r.headers.Set("If-None-Match", "a");
  EXPECT_FALSE(IfNoneMatchHits(r, "\"a\"")) << "tags are quoted";
}

}  // namespace
}  // namespace gpufleet::controller
