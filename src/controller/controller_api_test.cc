// The controller over real HTTP: tokens, inventory, VMs, plans, events (list and SSE), metrics,
// readiness, and a restart on the same data directory.

#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "controller/auth.h"
#include "controller/secrets.h"
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

class ControllerApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(tc_.Start().ok()); }
  httplib::Client Client() { return tc_.Client(); }
  const std::string& Admin() { return tc_.admin_token(); }
  void PutHost(std::string_view name, int gpus) {
    auto r = Client().Put(StrCat("/api/v1/hosts/", name), Bearer(Admin()), P40Host(gpus).dump(),
                          "application/json");
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status == 201 || r->status == 200) << r->body;
  }
  httplib::Result CreateVm(const nlohmann::json& body, const std::string& token) {
    return Client().Post("/api/v1/vms", Bearer(token), body.dump(), "application/json");
  }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
};

TEST_F(ControllerApiTest, FirstStartWritesTheAdminTokenOnceWithMode0600) {
  EXPECT_THAT(Admin(), ::testing::StartsWith("gft_"));
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() + "/data/admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto r = Client().Get("/api/v1/tokens", Bearer(Admin()));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  nlohmann::json items = JsonOf(r)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["name"], "admin");
  EXPECT_EQ(items[0]["role"], "admin");
  EXPECT_THAT(r->body, Not(HasSubstr(Admin().substr(4))));  // never the secret, nor its hash
}

TEST_F(ControllerApiTest, TokensCreateListDeleteAndExpire) {
  httplib::Client c = Client();
  auto made =
      c.Post("/api/v1/tokens", Bearer(Admin()),
             R"({"name":"ci","role":"viewer","expires_in_seconds":60})", "application/json");
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 201) << made->body;
  std::string secret = JsonOf(made)["token"];
  EXPECT_EQ(made->get_header_value("Location"), "/api/v1/tokens/ci");
  EXPECT_EQ(c.Get("/api/v1/hosts", Bearer(secret))->status, 200);
  auto dup = c.Post("/api/v1/tokens", Bearer(Admin()), R"({"name":"ci","role":"viewer"})",
                    "application/json");
  EXPECT_EQ(dup->status, 409);
  auto bad_role = c.Post("/api/v1/tokens", Bearer(Admin()), R"({"name":"x","role":"root"})",
                         "application/json");
  EXPECT_EQ(bad_role->status, 400);
  EXPECT_EQ(JsonOf(bad_role)["field"], "role");

  clock_.Advance(absl::Seconds(61));
  auto expired = c.Get("/api/v1/hosts", Bearer(secret));
  EXPECT_EQ(expired->status, 401);

  EXPECT_EQ(c.Delete("/api/v1/tokens/ci", Bearer(Admin()))->status, 204);
  EXPECT_EQ(c.Delete("/api/v1/tokens/ci", Bearer(Admin()))->status, 404);
  auto last = c.Delete("/api/v1/tokens/admin", Bearer(Admin()));
  EXPECT_EQ(last->status, 409);
  EXPECT_THAT(JsonOf(last)["message"].get<std::string>(), HasSubstr("last admin token"));
}

TEST_F(ControllerApiTest, FailedAuthIsAuditedWithoutTheToken) {
  httplib::Client c = Client();
  const std::string wrong = "gft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_EQ(c.Get("/api/v1/hosts", Bearer(wrong))->status, 401);
  auto ev = c.Get("/api/v1/events?kind=auth.invalid_token", Bearer(Admin()));
  ASSERT_TRUE(ev);
  nlohmann::json items = JsonOf(ev)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["actor"], "127.0.0.1");
  EXPECT_THAT(ev->body, Not(HasSubstr("AAAAAAAAAAAA")));
}

TEST_F(ControllerApiTest, InventoryPutGetAndGpus) {
  httplib::Client c = Client();
  auto put = c.Put("/api/v1/hosts/r730-1", Bearer(Admin()), P40Host(2).dump(), "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201) << put->body;
  EXPECT_EQ(put->get_header_value("ETag"), "\"v1\"");
  auto again =
      c.Put("/api/v1/hosts/r730-1", Bearer(Admin()), P40Host(1).dump(), "application/json");
  ASSERT_EQ(again->status, 200) << again->body;
  auto get = c.Get("/api/v1/hosts/r730-1", Bearer(Admin()));
  ASSERT_EQ(get->status, 200);
  nlohmann::json host = JsonOf(get);
  EXPECT_EQ(host["gpus"].size(), 1u);
  EXPECT_EQ(host["gpus"][0]["pci"], "0000:01:00.0");
  EXPECT_EQ(host["gpus"][0]["board"], "P40");
  EXPECT_EQ(host["hotmigrate"], true);
  EXPECT_EQ(host["labels"]["rack"], "r1");
  PutHost("r730-2", 1);
  auto gpus = c.Get("/api/v1/gpus?host=r730-2", Bearer(Admin()));
  EXPECT_EQ(JsonOf(gpus)["items"].size(), 1u);
  auto by_board = c.Get("/api/v1/gpus?board=Tesla%20P40", Bearer(Admin()));
  EXPECT_EQ(JsonOf(by_board)["items"].size(), 2u);
  auto bad = c.Put("/api/v1/hosts/r730-3", Bearer(Admin()),
                   R"({"gpus":[{"pci":"0000:01:00.0","board":"P4O"}]})", "application/json");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(JsonOf(bad)["field"], "gpus[0].board");
  EXPECT_EQ(c.Get("/api/v1/hosts/nope", Bearer(Admin()))->status, 404);
}

TEST_F(ControllerApiTest, VmLifecycleWithDeterministicUuids) {
  PutHost("r730-1", 1);
  const std::string op = tc_.TokenFor("olga", "operator");
  auto r = CreateVm({{"name", "web-1"}, {"type", "grid_p40-8q"}}, op);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(r->get_header_value("Location"), "/api/v1/vms/web-1");
  EXPECT_EQ(r->get_header_value("ETag"), "\"v1\"");
  nlohmann::json vm = JsonOf(r);
  ASSERT_EQ(vm["vgpus"].size(), 1u);
  EXPECT_EQ(vm["vgpus"][0]["type"], "P40-8Q");
  EXPECT_EQ(vm["vgpus"][0]["host"], "r730-1");
  EXPECT_EQ(vm["vgpus"][0]["uuid"], VgpuUuid("web-1", 0).ToString());
  // A P40 has 3 slots of 8Q: two more fit, the fourth is refused with the planner's reason.
  ASSERT_EQ(CreateVm({{"name", "web-2"}, {"type", "P40-8Q"}}, op)->status, 201);
  ASSERT_EQ(CreateVm({{"name", "web-3"}, {"type", "P40-8Q"}}, op)->status, 201);
  auto full = CreateVm({{"name", "web-4"}, {"type", "P40-8Q"}}, op);
  EXPECT_EQ(full->status, 409);
  EXPECT_THAT(JsonOf(full)["message"].get<std::string>(), HasSubstr("no place for P40-8Q"));
  EXPECT_EQ(CreateVm({{"name", "web-1"}, {"type", "P40-8Q"}}, op)->status, 409);

  httplib::Client c = Client();
  auto page1 = c.Get("/api/v1/vms?limit=2", Bearer(op));
  ASSERT_EQ(page1->status, 200);
  EXPECT_EQ(JsonOf(page1)["items"].size(), 2u);
  std::string cursor = JsonOf(page1)["next_cursor"];
  auto page2 = c.Get(StrCat("/api/v1/vms?limit=2&cursor=", cursor), Bearer(op));
  EXPECT_EQ(JsonOf(page2)["items"].size(), 1u);
  EXPECT_FALSE(JsonOf(page2).contains("next_cursor"));

  httplib::Headers stale = Bearer(op);
  stale.emplace("If-Match", "\"v7\"");
  EXPECT_EQ(c.Delete("/api/v1/vms/web-1", stale)->status, 412);
  httplib::Headers fresh = Bearer(op);
  fresh.emplace("If-Match", "\"v1\"");
  EXPECT_EQ(c.Delete("/api/v1/vms/web-1", fresh)->status, 204);
  EXPECT_EQ(c.Get("/api/v1/vms/web-1", Bearer(op))->status, 404);
  // The slot is free again.
  EXPECT_EQ(CreateVm({{"name", "web-4"}, {"type", "P40-8Q"}}, op)->status, 201);
}

TEST_F(ControllerApiTest, PlansAreDryRuns) {
  PutHost("r730-1", 1);
  PutHost("r730-2", 1);
  ASSERT_EQ(CreateVm({{"name", "web-1"}, {"type", "P40-8Q"}}, Admin())->status, 201);
  httplib::Client c = Client();
  const std::string viewer = tc_.TokenFor("vera", "viewer");
  auto host_of = [&] {
    return JsonOf(c.Get("/api/v1/vms/web-1", Bearer(viewer)))["vgpus"][0]["host"];
  };
  nlohmann::json before = host_of();
  auto evac = c.Post("/api/v1/plans/evacuate", Bearer(viewer),
                     nlohmann::json({{"host", before}}).dump(), "application/json");
  ASSERT_EQ(evac->status, 200) << evac->body;
  nlohmann::json plan = JsonOf(evac);
  ASSERT_EQ(plan["moves"].size(), 1u) << plan.dump();
  EXPECT_EQ(plan["moves"][0]["vm"], "web-1");
  EXPECT_NE(plan["moves"][0]["to"]["host"], before);
  EXPECT_EQ(host_of(), before);  // nothing moved
  auto ha = c.Post("/api/v1/plans/ha", Bearer(viewer), "{}", "application/json");
  ASSERT_EQ(ha->status, 200) << ha->body;
  EXPECT_EQ(JsonOf(ha)["n_plus_one"], true);
  auto missing =
      c.Post("/api/v1/plans/evacuate", Bearer(viewer), R"({"host":"nope"})", "application/json");
  EXPECT_EQ(missing->status, 404);
}

TEST_F(ControllerApiTest, EveryChangeIsAnEventWithItsActor) {
  PutHost("r730-1", 1);
  const std::string op = tc_.TokenFor("olga", "operator");
  ASSERT_EQ(CreateVm({{"name", "web-1"}, {"type", "P40-8Q"}}, op)->status, 201);
  httplib::Client c = Client();
  auto r = c.Get("/api/v1/events?object=vm/web-1", Bearer(op));
  nlohmann::json items = JsonOf(r)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["kind"], "vm.placed");
  EXPECT_EQ(items[0]["actor"], "olga");
  EXPECT_EQ(items[0]["data"]["host"], "r730-1");
  int64_t seq = items[0]["seq"];
  auto after = c.Get(StrCat("/api/v1/events?after=", seq), Bearer(op));
  EXPECT_EQ(JsonOf(after)["items"].size(), 0u);
  auto all = c.Get("/api/v1/events?limit=2", Bearer(op));
  EXPECT_EQ(JsonOf(all)["items"].size(), 2u);
  EXPECT_EQ(c.Get("/api/v1/events?after=x", Bearer(op))->status, 400);
}

TEST_F(ControllerApiTest, EventStreamResumesAfterLastEventId) {
  PutHost("r730-1", 1);
  const std::string viewer = tc_.TokenFor("vera", "viewer");
  int64_t host_seq =
      JsonOf(Client().Get("/api/v1/events?object=host/r730-1", Bearer(viewer)))["items"][0]["seq"];
  std::string received;
  std::thread reader([&] {
    httplib::Client c = tc_.Client();
    httplib::Headers h = Bearer(viewer);
    h.emplace("Last-Event-ID", std::to_string(host_seq));
    c.Get("/api/v1/events/stream", h, [&](const char* data, size_t n) {
      received.append(data, n);
      return received.find("vm.placed") == std::string::npos;  // stop once seen
    });
  });
  ASSERT_EQ(CreateVm({{"name", "web-1"}, {"type", "P40-8Q"}}, Admin())->status, 201);
  reader.join();
  EXPECT_THAT(received, HasSubstr("event: token.created"));  // vera's, after the cursor
  EXPECT_THAT(received, HasSubstr("event: vm.placed"));
  EXPECT_THAT(received, Not(HasSubstr("event: host.registered")));  // at the cursor
}

TEST_F(ControllerApiTest, MetricsHealthAndReadiness) {
  PutHost("r730-1", 1);
  ASSERT_EQ(CreateVm({{"name", "web-1"}, {"type", "P40-8Q"}}, Admin())->status, 201);
  httplib::Client c = Client();
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  auto m = c.Get("/metrics", Bearer(Admin()));
  ASSERT_EQ(m->status, 200);
  EXPECT_THAT(m->body, HasSubstr("gpufleet_host_up{host=\"r730-1\"} 1"));
  EXPECT_THAT(m->body, HasSubstr("gpufleet_vgpu_slots{host=\"r730-1\",gpu=\"0000:01:00.0\","
                                 "board=\"P40\",vgpu_type=\"P40-8Q\",state=\"used\"} 1"));
  EXPECT_THAT(m->body, HasSubstr("vgpu_type=\"P40-8Q\",state=\"free\"} 2"));
  EXPECT_THAT(m->body, HasSubstr("gpufleet_api_request_duration_seconds"));
}

TEST_F(ControllerApiTest, RestartKeepsStateAndTokens) {
  PutHost("r730-1", 1);
  const std::string op = tc_.TokenFor("olga", "operator");
  ASSERT_EQ(CreateVm({{"name", "web-1"}, {"type", "P40-8Q"}}, op)->status, 201);
  ASSERT_EQ(CreateVm({{"name", "web-2"}, {"type", "P40-8Q"}}, op)->status, 201);
  const std::string admin = Admin();
  tc_.Stop();
  ASSERT_TRUE(tc_.Start().ok());
  EXPECT_FALSE(tc_.controller().initial_admin_token().has_value());
  EXPECT_EQ(tc_.admin_token(), admin);
  httplib::Client c = Client();
  EXPECT_EQ(c.Get("/api/v1/vms/web-1", Bearer(op))->status, 200);
  // The rebuilt placement engine knows the two booked slots: one left, then full.
  EXPECT_EQ(CreateVm({{"name", "web-3"}, {"type", "P40-8Q"}}, op)->status, 201);
  EXPECT_EQ(CreateVm({{"name", "web-4"}, {"type", "P40-8Q"}}, op)->status, 409);
}

}  // namespace
}  // namespace gpufleet::controller
