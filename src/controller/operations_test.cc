// Durable operations over real HTTP: migrate, evacuate (maintenance), ha-restart (by hand and
// when liveness marks a host down), recarve, defrag; dry runs, refusals, a failed step undone,
// cancel, and resuming after a restart with a step left running.

#include <chrono>
#include <thread>

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

class OperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    op_ = tc_.TokenFor("ops", "operator");
    for (int i = 1; i <= 3; ++i) PutHost(StrCat("r730-", i), 1);
  }
  httplib::Client Client() { return tc_.Client(); }
  void PutHost(std::string_view name, int gpus) {
    auto r = Client().Put(StrCat("/api/v1/hosts/", name), Bearer(tc_.admin_token()),
                          P40Host(gpus).dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status == 201 || r->status == 200) << r->body;
  }
  // Creates a VM; returns the host it was placed on.
  std::string CreateVm(std::string_view name, std::string_view type) {
    auto r =
        Client().Post("/api/v1/vms", Bearer(op_),
                      nlohmann::json({{"name", name}, {"type", type}}).dump(), "application/json");
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no response");
    return r && r->status == 201 ? JsonOf(r)["vgpus"][0]["host"].get<std::string>() : "";
  }
  std::string HostOf(std::string_view vm) {
    nlohmann::json j = JsonOf(Client().Get(StrCat("/api/v1/vms/", vm), Bearer(op_)));
    return j["vgpus"][0]["host"].get<std::string>();
  }
  httplib::Result Post(const nlohmann::json& body) {
    return Client().Post("/api/v1/operations", Bearer(op_), body.dump(), "application/json");
  }
  // Submits; expects 202; returns the operation id.
  std::string Submit(const nlohmann::json& body) {
    auto r = Post(body);
    EXPECT_TRUE(r && r->status == 202) << (r ? r->body : "no response");
    if (!r || r->status != 202) return "";
    EXPECT_EQ(r->get_header_value("Location"),
              StrCat("/api/v1/operations/", JsonOf(r)["id"].get<std::string>()));
    return JsonOf(r)["id"].get<std::string>();
  }
  nlohmann::json Get(std::string_view id) {
    return JsonOf(Client().Get(StrCat("/api/v1/operations/", id), Bearer(op_)));
  }
  // Polls until the operation ends (10 s at most); returns it. Unless `report` is false, the
  // hosts' agents converge meanwhile (every host that is up reports its desired instances).
  nlohmann::json Wait(std::string_view id, bool report = true) {
    for (int i = 0; i < 500; ++i) {
      if (report) tc_.ReportDesiredAsObserved();
      nlohmann::json op = Get(id);
      const std::string state = op.value("state", "");
      if (state == "succeeded" || state == "failed" || state == "cancelled") return op;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "operation " << id << " did not end: " << Get(id).dump();
    return Get(id);
  }
  nlohmann::json Events(std::string_view kind) {
    return JsonOf(
        Client().Get(StrCat("/api/v1/events?limit=1000&kind=", kind), Bearer(op_)))["items"];
  }
  nlohmann::json Desired(std::string_view host) {
    return JsonOf(Client().Get(StrCat("/api/v1/hosts/", host, "/desired"), Bearer(op_)));
  }
  // Reports `host`'s instances (desired entries) as its agent would, with `migrations`.
  void ReportAs(std::string_view host, const nlohmann::json& instances, bool active,
                const nlohmann::json& migrations = nlohmann::json::array()) {
    nlohmann::json body = {{"instances", nlohmann::json::array()}, {"migrations", migrations}};
    for (const nlohmann::json& d : instances) {
      body["instances"].push_back({{"uuid", d["uuid"]},
                                   {"gpu", d["gpu"]},
                                   {"type", d["type"]},
                                   {"vm", d["vm"]},
                                   {"active", active}});
    }
    auto r = Client().Put(StrCat("/api/v1/hosts/", host, "/instances"), Bearer(tc_.admin_token()),
                          body.dump(), "application/json");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  }
  // VM `a` runs on `from`; a migrate operation `id` moved it to `to`, whose agent has reported
  // its vGPU: the live migration waits for the source's report.
  struct LiveMove {
    std::string id, from, to;
  };
  LiveMove MigrateRunningVmUntilReady() {
    LiveMove m;
    m.from = CreateVm("a", "P40-8Q");
    tc_.ReportDesiredAsObserved();
    m.id = Submit({{"kind", "migrate"}, {"vm", "a"}});
    for (int i = 0; i < 500 && Get(m.id)["steps"].size() < 2u; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m.to = HostOf("a");
    ReportAs(m.to, Desired(m.to)["instances"], false);
    return m;
  }
  std::string HostState(std::string_view host) {
    return JsonOf(Client().Get(StrCat("/api/v1/hosts/", host), Bearer(op_)))["state"];
  }
  void Heartbeat(std::string_view host) {
    auto r = Client().Post(StrCat("/api/v1/hosts/", host, "/heartbeat"), Bearer(tc_.admin_token()),
                           "", "application/json");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  }

  // As the runner leaves an operation it was killed in: running, step 0 running; with a cancel
  // requested too when `cancel`.
  absl::Status MarkFirstStepRunning(const std::string& id, bool cancel) {
    return tc_.store().Write([&](store::WriteTx& tx) -> absl::Status {
      auto op = tx.GetOperation(id);
      if (!op.ok()) return op.status();
      op->state = store::OperationState::kRunning;
      op->cancel_requested = cancel;
      if (auto s = tx.UpdateOperation(*op); !s.ok()) return s;
      auto step = tx.GetStep(id, 0);
      if (!step.ok()) return step.status();
      step->state = store::StepState::kRunning;
      return tx.UpdateStep(*step);
    });
  }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string op_;
};

TEST_F(OperationsTest, MigrateDryRunThenForReal) {
  const std::string from = CreateVm("web-1", "P40-8Q");
  const std::string to = from == "r730-2" ? "r730-3" : "r730-2";

  auto dry = Post({{"kind", "migrate"}, {"vm", "web-1"}, {"to", to}, {"dry_run", true}});
  ASSERT_TRUE(dry);
  ASSERT_EQ(dry->status, 200) << dry->body;
  nlohmann::json plan = JsonOf(dry);
  EXPECT_EQ(plan["can_run"], true);
  EXPECT_EQ(plan["target"], "vm/web-1");
  ASSERT_EQ(plan["plan"]["moves"].size(), 1u);
  EXPECT_EQ(plan["plan"]["moves"][0]["to"]["host"], to);
  EXPECT_GT(plan["plan"]["moves"][0]["stun_seconds"].get<double>(), 10);
  EXPECT_EQ(HostOf("web-1"), from);  // a dry run writes nothing
  EXPECT_TRUE(JsonOf(Client().Get("/api/v1/operations", Bearer(op_)))["items"].empty());

  const std::string id = Submit({{"kind", "migrate"}, {"vm", "web-1"}, {"to", to}});
  nlohmann::json done = Wait(id);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["actor"], "ops");
  EXPECT_EQ(done["progress"]["done"], 2);
  EXPECT_EQ(done["progress"]["total"], 2);  // the move, then its await
  EXPECT_EQ(done["steps"][0]["state"], "done");
  EXPECT_EQ(done["steps"][1]["kind"], "await");
  EXPECT_EQ(done["steps"][1]["detail"]["host"], to);
  EXPECT_TRUE(done["steps"][1]["detail"]["result"].contains("observed_at")) << done.dump();
  EXPECT_EQ(HostOf("web-1"), to);
  nlohmann::json migrated = Events("vm.migrated");
  ASSERT_EQ(migrated.size(), 1u);
  EXPECT_THAT(migrated[0]["message"].get<std::string>(), HasSubstr(StrCat("from ", from)));
  EXPECT_EQ(Events("operation.succeeded").size(), 1u);

  auto list = JsonOf(Client().Get("/api/v1/operations?state=succeeded&kind=migrate", Bearer(op_)));
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["id"], id);
  EXPECT_FALSE(list["items"][0].contains("steps"));
}

TEST_F(OperationsTest, RefusalsNameTheReason) {
  const std::string at = CreateVm("web-1", "P40-8Q");
  auto same = Post({{"kind", "migrate"}, {"vm", "web-1"}, {"to", at}});
  ASSERT_TRUE(same);
  EXPECT_EQ(same->status, 409);
  EXPECT_THAT(JsonOf(same)["message"].get<std::string>(), HasSubstr("already runs on " + at));
  auto ghost = Post({{"kind", "migrate"}, {"vm", "ghost"}});
  EXPECT_EQ(ghost->status, 404);
  EXPECT_EQ(JsonOf(ghost)["field"], "vm");
  auto nowhere = Post({{"kind", "migrate"}, {"vm", "web-1"}, {"to", "r999"}});
  EXPECT_EQ(nowhere->status, 404);
  EXPECT_EQ(JsonOf(nowhere)["field"], "to");
  auto viewer = Client().Post("/api/v1/operations", Bearer(tc_.TokenFor("v", "viewer")),
                              R"({"kind":"evacuate","host":"r730-1"})", "application/json");
  EXPECT_EQ(viewer->status, 403);
  auto bad = Post({{"kind", "evacuate"}});
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(JsonOf(bad)["field"], "host");
  auto ended =
      Client().Post("/api/v1/operations/op-none/cancel", Bearer(op_), "", "application/json");
  EXPECT_EQ(ended->status, 404);
}

TEST_F(OperationsTest, EvacuateEmptiesTheHostAndKeepsItOutOfPlacement) {
  const std::string host = CreateVm("a", "P40-8Q");
  ASSERT_EQ(CreateVm("b", "P40-8Q"), host);  // packed on the same GPU
  const std::string id = Submit({{"kind", "evacuate"}, {"host", host}});
  nlohmann::json done = Wait(id);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  ASSERT_EQ(done["steps"].size(), 6u);  // maintenance, plan-evacuation, 2 moves, 2 awaits
  EXPECT_EQ(done["steps"][1]["detail"]["result"]["moves"], 2);
  EXPECT_EQ(HostState(host), "maintenance");
  EXPECT_NE(HostOf("a"), host);
  EXPECT_EQ(HostOf("a"), HostOf("b"));  // one P40 carved 8Q takes both
  EXPECT_NE(CreateVm("c", "P40-8Q"), host);
  EXPECT_EQ(Events("host.maintenance").size(), 1u);
  EXPECT_EQ(Events("vm.migrated").size(), 2u);
  // A second evacuation of the same host has nothing to move.
  nlohmann::json again = Wait(Submit({{"kind", "evacuate"}, {"host", host}}));
  EXPECT_EQ(again["state"], "succeeded");
  EXPECT_EQ(again["steps"].size(), 2u);
  // Back in service.
  nlohmann::json back = Wait(Submit({{"kind", "exit-maintenance"}, {"host", host}}));
  EXPECT_EQ(back["state"], "succeeded") << back.dump();
  EXPECT_EQ(HostState(host), "ready");
  auto not_in = Post({{"kind", "exit-maintenance"}, {"host", host}});
  EXPECT_EQ(not_in->status, 409);
  EXPECT_THAT(JsonOf(not_in)["message"].get<std::string>(), HasSubstr("not in maintenance"));
}

TEST_F(OperationsTest, EvacuationThatCannotFinishIsRefusedOrUndone) {
  // Three P40s, three VMs of three types: no GPU can take another's VMs.
  ASSERT_FALSE(CreateVm("a", "P40-8Q").empty());
  ASSERT_FALSE(CreateVm("b", "P40-12Q").empty());
  const std::string c_host = CreateVm("c", "P40-24Q");
  auto refused = Post({{"kind", "evacuate"}, {"host", c_host}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 409);
  EXPECT_THAT(JsonOf(refused)["message"].get<std::string>(), HasSubstr("cannot leave"));
  auto dry = JsonOf(Post({{"kind", "evacuate"}, {"host", c_host}, {"dry_run", true}}));
  EXPECT_EQ(dry["can_run"], false);
  ASSERT_EQ(dry["plan"]["stuck"].size(), 1u);
  EXPECT_EQ(dry["plan"]["stuck"][0]["vm"], "c");

  // Submitted while it could run; by the time it runs it cannot: maintenance is undone.
  ASSERT_TRUE(Client().Delete("/api/v1/vms/b", Bearer(op_))->status == 204);
  tc_.controller().operations().Stop();
  const std::string id = Submit({{"kind", "evacuate"}, {"host", c_host}});
  ASSERT_FALSE(CreateVm("d", "P40-12Q").empty());  // takes the GPU c would have gone to
  ASSERT_TRUE(tc_.controller().operations().Start().ok());
  nlohmann::json failed = Wait(id);
  EXPECT_EQ(failed["state"], "failed");
  EXPECT_THAT(failed["error"].get<std::string>(), HasSubstr("step 1 (plan-evacuation)"));
  EXPECT_EQ(failed["steps"][0]["state"], "rolled-back");
  EXPECT_EQ(failed["steps"][1]["state"], "failed");
  EXPECT_EQ(HostState(c_host), "ready");
  EXPECT_EQ(HostOf("c"), c_host);
  EXPECT_EQ(Events("host.ready").size(), 1u);
}

TEST_F(OperationsTest, CancelBeforeItRunsLeavesEverythingAsItWas) {
  const std::string host = CreateVm("a", "P40-8Q");
  tc_.controller().operations().Stop();
  const std::string id = Submit({{"kind", "evacuate"}, {"host", host}});
  auto busy = Post({{"kind", "evacuate"}, {"host", host}});
  EXPECT_EQ(busy->status, 409);
  EXPECT_THAT(JsonOf(busy)["message"].get<std::string>(), HasSubstr("already working on"));
  auto cancel = Client().Post(StrCat("/api/v1/operations/", id, "/cancel"), Bearer(op_), "",
                              "application/json");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 202) << cancel->body;
  ASSERT_TRUE(tc_.controller().operations().Start().ok());
  nlohmann::json done = Wait(id);
  EXPECT_EQ(done["state"], "cancelled");
  EXPECT_EQ(done["cancel_requested"], true);
  EXPECT_EQ(done["steps"][0]["state"], "pending");
  EXPECT_EQ(HostState(host), "ready");
  EXPECT_EQ(HostOf("a"), host);
  auto late = Client().Post(StrCat("/api/v1/operations/", id, "/cancel"), Bearer(op_), "",
                            "application/json");
  EXPECT_EQ(late->status, 409);
}

TEST_F(OperationsTest, ResumesAfterARestartWithAStepLeftRunning) {
  const std::string from = CreateVm("a", "P40-8Q");
  tc_.controller().operations().Stop();
  const std::string id = Submit({{"kind", "migrate"}, {"vm", "a"}});
  // As if the controller died after writing "running" and before the step's transaction.
  ASSERT_TRUE(MarkFirstStepRunning(id, /*cancel=*/false).ok());
  tc_.Stop();
  ASSERT_TRUE(tc_.Start().ok());
  nlohmann::json done = Wait(id);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_NE(HostOf("a"), from);
  EXPECT_EQ(Events("vm.migrated").size(), 1u);
}

TEST_F(OperationsTest, ACancelBetweenRunningAndActingLeavesTheStepPending) {
  const std::string from = CreateVm("a", "P40-8Q");
  tc_.controller().operations().Stop();
  const std::string id = Submit({{"kind", "migrate"}, {"vm", "a"}});
  // The runner marked the step running; the cancel came before the step's transaction.
  ASSERT_TRUE(MarkFirstStepRunning(id, /*cancel=*/true).ok());
  ASSERT_TRUE(tc_.controller().operations().Start().ok());
  nlohmann::json done = Wait(id);
  EXPECT_EQ(done["state"], "cancelled") << done.dump();
  EXPECT_EQ(done["steps"][0]["state"], "pending");  // it never acted
  EXPECT_EQ(HostOf("a"), from);
}

TEST_F(OperationsTest, RecarveAnEmptyGpuOnlyAndWhatTheBoardCanDo) {
  const std::string busy = CreateVm("a", "P40-8Q");
  const std::string empty = busy == "r730-1" ? "r730-2" : "r730-1";
  auto refused = Post({{"kind", "recarve"},
                       {"host", busy},
                       {"gpu", "0000:01:00.0"},
                       {"mode", "equal-size"},
                       {"type", "P40-3Q"}});
  EXPECT_EQ(refused->status, 409);
  EXPECT_THAT(JsonOf(refused)["message"].get<std::string>(), HasSubstr("migrate them away"));
  auto no_mig =
      Post({{"kind", "recarve"}, {"host", empty}, {"gpu", "0000:01:00.0"}, {"mode", "mig"}});
  EXPECT_EQ(no_mig->status, 400);
  EXPECT_EQ(JsonOf(no_mig)["field"], "mode");
  auto wrong_board = Post({{"kind", "recarve"},
                           {"host", empty},
                           {"gpu", "0000:01:00.0"},
                           {"mode", "equal-size"},
                           {"type", "T4-4Q"}});
  EXPECT_EQ(wrong_board->status, 400);
  EXPECT_EQ(JsonOf(wrong_board)["field"], "type");

  nlohmann::json done = Wait(Submit({{"kind", "recarve"},
                                     {"host", empty},
                                     {"gpu", "0000:01:00.0"},
                                     {"mode", "equal-size"},
                                     {"type", "P40-3Q"}}));
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  nlohmann::json gpus =
      JsonOf(Client().Get(StrCat("/api/v1/gpus?host=", empty), Bearer(op_)))["items"];
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0]["carved_type"], "P40-3Q");
  EXPECT_EQ(gpus[0]["held"], false);
  EXPECT_EQ(Events("gpu.recarved").size(), 1u);
  EXPECT_EQ(CreateVm("light", "P40-3Q"), empty);  // the 3Q-carved GPU takes 3Q VMs first
}

TEST_F(OperationsTest, DefragFreesAWholeGpuForABigProfile) {
  const std::string first = CreateVm("a", "P40-3Q");
  ASSERT_EQ(CreateVm("b", "P40-3Q"), first);
  ASSERT_EQ(CreateVm("big-1", "P40-24Q").empty(), false);
  // Split a and b over two GPUs, leaving no whole P40 for a second 24Q.
  std::string other;
  for (int i = 1; i <= 3; ++i) {
    const std::string h = StrCat("r730-", i);
    if (h != first && h != HostOf("big-1")) other = h;
  }
  ASSERT_EQ(Wait(Submit({{"kind", "migrate"}, {"vm", "b"}, {"to", other}}))["state"], "succeeded");
  auto full = Client().Post("/api/v1/vms", Bearer(op_), R"({"name":"big-2","type":"P40-24Q"})",
                            "application/json");
  ASSERT_EQ(full->status, 409) << full->body;

  auto dry = JsonOf(Post({{"kind", "defrag"}, {"type", "P40-24Q"}, {"dry_run", true}}));
  EXPECT_EQ(dry["plan"]["satisfied"], true) << dry.dump();
  EXPECT_EQ(dry["plan"]["moves"].size(), 1u);
  nlohmann::json done = Wait(Submit({{"kind", "defrag"}, {"type", "P40-24Q"}}));
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(HostOf("a"), HostOf("b"));
  EXPECT_FALSE(CreateVm("big-2", "P40-24Q").empty());
  nlohmann::json gpus = JsonOf(Client().Get("/api/v1/gpus", Bearer(op_)))["items"];
  for (const nlohmann::json& g : gpus) EXPECT_EQ(g["held"], false) << g.dump();
}

TEST_F(OperationsTest, HostDownStartsAnHaRestart) {
  const std::string host = CreateVm("a", "P40-8Q");
  ASSERT_EQ(CreateVm("b", "P40-8Q"), host);
  auto not_down = Post({{"kind", "ha-restart"}, {"host", host}});
  EXPECT_EQ(not_down->status, 409);
  EXPECT_THAT(JsonOf(not_down)["message"].get<std::string>(), HasSubstr("is not down"));

  clock_.Advance(absl::Seconds(31));
  for (int i = 1; i <= 3; ++i) {
    if (StrCat("r730-", i) != host) Heartbeat(StrCat("r730-", i));
  }
  auto swept = tc_.controller().SweepLiveness();
  ASSERT_TRUE(swept.ok()) << swept.status();
  ASSERT_EQ(*swept, std::vector<std::string>{host});
  nlohmann::json ops =
      JsonOf(Client().Get("/api/v1/operations?kind=ha-restart", Bearer(op_)))["items"];
  ASSERT_EQ(ops.size(), 1u);
  nlohmann::json done = Wait(ops[0]["id"].get<std::string>());
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["actor"], "");
  EXPECT_EQ(done["steps"].size(), 5u);  // plan-restart, 2 restarts, 2 awaits
  EXPECT_NE(HostOf("a"), host);
  EXPECT_NE(HostOf("b"), host);
  EXPECT_EQ(Events("vm.restarted").size(), 2u);
}

TEST_F(OperationsTest, HaRestartReportsVmsThatCannotRestart) {
  const std::string host = CreateVm("a", "P40-24Q");
  ASSERT_FALSE(CreateVm("b", "P40-24Q").empty());
  ASSERT_FALSE(CreateVm("c", "P40-24Q").empty());
  clock_.Advance(absl::Seconds(31));
  for (int i = 1; i <= 3; ++i) {
    if (StrCat("r730-", i) != host) Heartbeat(StrCat("r730-", i));
  }
  ASSERT_TRUE(tc_.controller().SweepLiveness().ok());
  nlohmann::json ops =
      JsonOf(Client().Get("/api/v1/operations?kind=ha-restart", Bearer(op_)))["items"];
  ASSERT_EQ(ops.size(), 1u);
  nlohmann::json done = Wait(ops[0]["id"].get<std::string>());
  EXPECT_EQ(done["state"], "failed");
  EXPECT_THAT(done["error"].get<std::string>(), HasSubstr("1 of 1 VMs could not restart: a:"));
  EXPECT_EQ(HostOf("a"), host);
}

TEST_F(OperationsTest, AMoveIsDoneWhenTheNewHostReportsTheVgpu) {
  const std::string from = CreateVm("a", "P40-8Q");
  const std::string id = Submit({{"kind", "migrate"}, {"vm", "a"}});
  // No agent reports: the desired state moves at once, the operation waits for the host.
  nlohmann::json op;
  for (int i = 0; i < 500; ++i) {
    op = Get(id);
    if (op["steps"].size() == 2u && op["steps"][1]["state"] == "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(op["steps"].size(), 2u) << op.dump();
  EXPECT_EQ(op["steps"][0]["state"], "done");
  EXPECT_EQ(op["steps"][1]["kind"], "await");
  const std::string to = HostOf("a");
  EXPECT_NE(to, from);
  EXPECT_EQ(op["steps"][1]["detail"]["host"], to);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few of the runner's looks
  EXPECT_EQ(Get(id)["state"], "running");
  // The source reporting its old copy proves nothing; the destination's report does.
  tc_.ReportDesiredAsObserved();
  nlohmann::json done = Wait(id, /*report=*/false);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["steps"][1]["state"], "done");
}

TEST_F(OperationsTest, AMoveTheNewHostNeverReportsFailsAfterTheConvergeTimeout) {
  CreateVm("a", "P40-8Q");
  const std::string id = Submit({{"kind", "migrate"}, {"vm", "a"}});
  for (int i = 0; i < 500 && Get(id)["steps"].size() < 2u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string to = HostOf("a");
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  nlohmann::json done = Wait(id, /*report=*/false);
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_THAT(done["error"].get<std::string>(),
              HasSubstr(StrCat("1 of 1 moved VMs were not confirmed by their hosts: a: host ", to,
                               " has not reported 1 of vm a's 1 vGPU(s)")));
  EXPECT_EQ(done["steps"][1]["state"], "failed");
  EXPECT_EQ(HostOf("a"), to);  // the desired state stays moved: the agent may still converge
  EXPECT_EQ(Events("operation.step-failed").size(), 1u);
}

// A cold move is done only when the source no longer reports the VM's vGPU: until then the VM
// may still run there (a host in maintenance is not empty yet).
TEST_F(OperationsTest, AColdMoveWaitsForTheSourceToTearItsCopyDown) {
  const std::string from = CreateVm("a", "P40-8Q");
  const nlohmann::json copy = Desired(from)["instances"];
  ReportAs(from, copy, /*active=*/false);  // created, not in use: the move is cold
  const std::string id = Submit({{"kind", "migrate"}, {"vm", "a"}});
  for (int i = 0; i < 500 && Get(id)["steps"].size() < 2u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string to = HostOf("a");
  ASSERT_NE(to, from);
  EXPECT_TRUE(Desired(from)["departures"].empty());
  ReportAs(to, Desired(to)["instances"], false);
  ReportAs(from, copy, false);  // still tearing down
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Get(id)["state"], "running");
  const nlohmann::json left =
      JsonOf(Client().Get(StrCat("/api/v1/hosts/", from, "/instances"), Bearer(op_)))["leftovers"];
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["vm"], "a");
  ReportAs(from, nlohmann::json::array(), false);
  nlohmann::json done = Wait(id, /*report=*/false);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
}

TEST_F(OperationsTest, ASourceThatKeepsItsCopyFailsTheMoveAfterTheConvergeTimeout) {
  const std::string from = CreateVm("a", "P40-8Q");
  const nlohmann::json copy = Desired(from)["instances"];
  ReportAs(from, copy, /*active=*/false);
  const std::string id = Submit({{"kind", "migrate"}, {"vm", "a"}});
  for (int i = 0; i < 500 && Get(id)["steps"].size() < 2u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string to = HostOf("a");
  ReportAs(to, Desired(to)["instances"], false);
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  nlohmann::json done = Wait(id, /*report=*/false);
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_THAT(done["error"].get<std::string>(),
              HasSubstr(StrCat("host ", from, " still holds vm a's vGPU(s)")));
}

// A running VM's live migration: the destination reports the vGPU it created, then the source's
// desired state lists the VM under departures; the move is done once the source reports it.
TEST_F(OperationsTest, ALiveMigrationWaitsForTheSourceAgentAndRecordsTheStun) {
  const std::string from = CreateVm("a", "P40-8Q");
  tc_.ReportDesiredAsObserved();  // `a` runs: its vGPU is in use on `from`
  const std::string id = Submit({{"kind", "migrate"}, {"vm", "a"}});
  for (int i = 0; i < 500 && Get(id)["steps"].size() < 2u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string to = HostOf("a");
  ASSERT_NE(to, from);
  // Listed at once, so that the source keeps the VM running; not ready while the destination
  // has nothing.
  EXPECT_EQ(Desired(from)["departures"],
            nlohmann::json::array({{{"vm", "a"}, {"to", to}, {"ready", false}}}));
  ReportAs(to, Desired(to)["instances"], /*active=*/false);
  EXPECT_EQ(Desired(from)["departures"],
            nlohmann::json::array({{{"vm", "a"}, {"to", to}, {"ready", true}}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Get(id)["state"], "running");  // the await waits for the source's report

  ReportAs(from, nlohmann::json::array(), false,
           nlohmann::json::array({{{"vm", "a"}, {"to", to}, {"stun_ms", 2345}}}));
  nlohmann::json done = Wait(id, /*report=*/false);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  const nlohmann::json events = Events("vm.live-migrated");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0]["message"].get<std::string>(),
              HasSubstr(StrCat("vm a live-migrated from ", from, " to ", to, ", paused 2.3 s")));
  EXPECT_TRUE(Desired(from)["departures"].empty());
  // A repeated report changes nothing.
  ReportAs(from, nlohmann::json::array(), false,
           nlohmann::json::array({{{"vm", "a"}, {"to", to}, {"stun_ms", 2345}}}));
  EXPECT_EQ(Events("vm.live-migrated").size(), 1u);
}

TEST_F(OperationsTest, ARefusedLiveMigrationEndsAsAColdMove) {
  const auto [id, from, to] = MigrateRunningVmUntilReady();
  ReportAs(from, nlohmann::json::array(), false,
           nlohmann::json::array({{{"vm", "a"}, {"to", to}, {"error", "no route to host"}}}));
  EXPECT_EQ(Wait(id, /*report=*/false)["state"], "succeeded");
  const nlohmann::json events = Events("vm.live-migration-failed");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0]["message"].get<std::string>(),
              HasSubstr(StrCat("could not live-migrate from ", from, " to ", to,
                               ": no route to host; it restarts on ", to)));
}

TEST_F(OperationsTest, ALiveMigrationTheSourceNeverReportsFailsAfterTheConvergeTimeout) {
  const auto [id, from, to] = MigrateRunningVmUntilReady();
  clock_.Advance(absl::Minutes(10) + absl::Seconds(1));
  nlohmann::json done = Wait(id, /*report=*/false);
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_THAT(done["error"].get<std::string>(),
              HasSubstr(StrCat("host ", from, " has not live-migrated vm a to ", to)));
}

TEST_F(OperationsTest, AWaitingOperationDoesNotHoldBackOthers) {
  const std::string busy = CreateVm("a", "P40-8Q");
  const std::string waiting = Submit({{"kind", "migrate"}, {"vm", "a"}});
  for (int i = 0; i < 500 && Get(waiting)["steps"].size() < 2u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string now_at = HostOf("a");
  std::string empty;
  for (int i = 1; i <= 3; ++i) {
    const std::string h = StrCat("r730-", i);
    if (h != busy && h != now_at) empty = h;
  }
  nlohmann::json recarved = Wait(Submit({{"kind", "recarve"},
                                         {"host", empty},
                                         {"gpu", "0000:01:00.0"},
                                         {"mode", "equal-size"},
                                         {"type", "P40-3Q"}}),
                                 /*report=*/false);
  EXPECT_EQ(recarved["state"], "succeeded") << recarved.dump();
  EXPECT_EQ(Get(waiting)["state"], "running");
  EXPECT_EQ(Wait(waiting)["state"], "succeeded");
}

TEST_F(OperationsTest, MetricsCountOperationsByKindAndState) {
  CreateVm("a", "P40-8Q");
  Wait(Submit({{"kind", "migrate"}, {"vm", "a"}}));
  auto r = Client().Get("/metrics", Bearer(op_));
  ASSERT_TRUE(r);
  EXPECT_THAT(r->body, HasSubstr(R"(gpufleet_operations{kind="migrate",state="succeeded"} 1)"));
  EXPECT_THAT(r->body, HasSubstr(R"(gpufleet_operation_duration_seconds_count{kind="migrate"} 1)"));
}

}  // namespace
}  // namespace gpufleet::controller
