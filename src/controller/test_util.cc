#include "controller/test_util.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "common/strings.h"
#include "gtest/gtest.h"

namespace gpufleet::controller::testing {

TempDir::TempDir() {
  std::string pattern = ::testing::TempDir() + "gpufleet_controller.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TestController::TestController(const std::string& dir, os::FakeClock* clock)
    : dir_(dir), clock_(clock) {}

TestController::~TestController() { Stop(); }

absl::Status TestController::Start(InventoryOptions inventory) {
  store::SqliteStoreOptions so;
  so.clock = clock_;
  so.busy_timeout = absl::Seconds(10);
  auto store = store::SqliteStore::Open(dir_ + "/data", so);
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  ControllerOptions options;
  options.data_dir = dir_ + "/data";
  options.inventory = inventory;
  auto ctl = Controller::Create(*store_, *clock_, options);
  if (!ctl.ok()) return ctl.status();
  controller_ = *std::move(ctl);
  if (controller_->initial_admin_token().has_value()) {
    admin_token_ = *controller_->initial_admin_token();
  } else {
    std::ifstream in(dir_ + "/data/admin-token");
    std::getline(in, admin_token_);
  }
  auto router = controller_->BuildRouter();
  if (!router.ok()) return router.status();
  api::ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 4;
  o.stop_timeout = absl::Seconds(2);
  o.sse_keepalive_interval = absl::Seconds(1);
  api::ServerDeps deps = controller_->ServerDeps();
  auto server = api::HttpServer::Start(o, *std::move(router), std::move(deps));
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  return absl::OkStatus();
}

void TestController::StartAgentReports(std::chrono::milliseconds interval) {
  if (reporter_.joinable()) return;
  reporting_ = true;
  reporter_ = std::thread([this, interval] {
    while (reporting_) {
      ReportDesiredAsObserved();
      std::this_thread::sleep_for(interval);
    }
  });
}

void TestController::Stop() {
  reporting_ = false;
  if (reporter_.joinable()) reporter_.join();
  if (server_) server_->Stop();
  server_.reset();
  controller_.reset();
  store_.reset();
}

httplib::Client TestController::Client() const {
  httplib::Client c("127.0.0.1", port());
  c.set_read_timeout(30, 0);
  return c;
}

std::string TestController::TokenFor(std::string_view name, std::string_view role) {
  auto r =
      Client().Post("/api/v1/tokens", Bearer(admin_token_),
                    nlohmann::json({{"name", name}, {"role", role}}).dump(), "application/json");
  if (!r || r->status != 201) {
    ADD_FAILURE() << "cannot create token " << name << ": " << (r ? r->body : "no response");
    return "";
  }
  return JsonOf(r)["token"].get<std::string>();
}

std::string TestController::AgentFor(std::string_view host) {
  httplib::Client c = Client();
  auto issued = c.Post("/api/v1/enrolment-tokens", Bearer(admin_token_),
                       nlohmann::json({{"host", host}}).dump(), "application/json");
  if (!issued || issued->status != 201) {
    ADD_FAILURE() << "cannot issue enrolment token: " << (issued ? issued->body : "no response");
    return "";
  }
  auto enrolled =
      c.Post("/api/v1/agents/enrol", nlohmann::json({{"token", JsonOf(issued)["token"]}}).dump(),
             "application/json");
  if (!enrolled || enrolled->status != 201) {
    ADD_FAILURE() << "cannot enrol: " << (enrolled ? enrolled->body : "no response");
    return "";
  }
  return JsonOf(enrolled)["credential"].get<std::string>();
}

void TestController::ReportDesiredAsObserved() {
  httplib::Client c = Client();
  nlohmann::json hosts = JsonOf(c.Get("/api/v1/hosts?limit=1000", Bearer(admin_token_)));
  if (!hosts.contains("items")) {
    ADD_FAILURE() << "cannot list hosts: " << hosts.dump();
    return;
  }
  for (const nlohmann::json& h : hosts["items"]) {
    if (h.value("state", "") == "down") continue;
    const std::string name = h.value("name", "");
    nlohmann::json desired =
        JsonOf(c.Get(StrCat("/api/v1/hosts/", name, "/desired"), Bearer(admin_token_)));
    nlohmann::json report = {{"instances", nlohmann::json::array()}};
    for (const nlohmann::json& d : desired["instances"]) {
      report["instances"].push_back({{"uuid", d["uuid"]},
                                     {"gpu", d["gpu"]},
                                     {"type", d["type"]},
                                     {"placement", d["placement"]},
                                     {"vm", d["vm"]},
                                     {"active", true}});
    }
    // As an agent that migrates at once: every departure listed is done, paused 2 s.
    for (const nlohmann::json& d : desired.value("departures", nlohmann::json::array())) {
      if (!d.value("ready", false)) continue;
      report["migrations"].push_back({{"vm", d["vm"]}, {"to", d["to"]}, {"stun_ms", 2000}});
    }
    auto r = c.Put(StrCat("/api/v1/hosts/", name, "/instances"), Bearer(admin_token_),
                   report.dump(), "application/json");
    if (!r || r->status != 200) {
      ADD_FAILURE() << "cannot report " << name << ": " << (r ? r->body : "no response");
    }
  }
}

httplib::Headers Bearer(std::string_view token) {
  return {{"Authorization", StrCat("Bearer ", token)}};
}

nlohmann::json JsonOf(const httplib::Result& r) {
  if (!r) return nullptr;
  return nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
}

nlohmann::json P40Host(int gpus) {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < gpus; ++i) {
    list.push_back({{"pci", StrCat("0000:0", i + 1, ":00.0")}, {"board", "P40"}, {"ecc", true}});
  }
  return {{"hypervisor", "kvm"},
          {"manager_version", "525.105.14"},
          {"hotmigrate", true},
          {"labels", {{"rack", "r1"}}},
          {"gpus", list}};
}

}  // namespace gpufleet::controller::testing
