#ifndef GPUFLEET_CONTROLLER_TEST_UTIL_H_
#define GPUFLEET_CONTROLLER_TEST_UTIL_H_

// A controller served over real HTTP on 127.0.0.1 port 0, with a SQLite store in a private
// temporary directory and a FakeClock; plus small client helpers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "api/http_server.h"
#include "common/strings.h"
#include "controller/controller.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "os/clock.h"
#include "store/sqlite_store.h"

namespace gpufleet::controller::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline absl::Time TestEpoch() { return absl::FromUnixSeconds(1795910400); }  // 2026-11-29

// One running controller. Start() opens (or reopens) the store in `dir`; Stop() stops the server
// and closes everything, leaving the directory for a restart.
class TestController {
 public:
  explicit TestController(const std::string& dir, os::FakeClock* clock);
  ~TestController();

  absl::Status Start(InventoryOptions inventory = {});
  void Stop();

  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  [[nodiscard]] Controller& controller() { return *controller_; }
  [[nodiscard]] store::SqliteStore& store() { return *store_; }
  [[nodiscard]] const api::Router& router() const { return server_->router(); }
  // The admin token created by the first start of the directory (kept across restarts).
  [[nodiscard]] const std::string& admin_token() const { return admin_token_; }

  [[nodiscard]] httplib::Client Client() const;
  // Creates an API token with `role` ("viewer", "operator", "admin"); returns its secret.
  std::string TokenFor(std::string_view name, std::string_view role);
  // Enrols an agent for `host`; returns its credential.
  std::string AgentFor(std::string_view host);
  // Does what converged agents would: every host that is not down reports exactly its desired
  // instances as observed, each in use by its running VM (PUT /api/v1/hosts/{host}/instances, as
  // admin), and reports every departure its desired state lists as live-migrated (stun 2 s).
  void ReportDesiredAsObserved();
  // Calls ReportDesiredAsObserved every `interval` on a thread of its own until Stop(): the
  // hosts' agents, for tests that run operations through a client that waits for their end.
  void StartAgentReports(std::chrono::milliseconds interval = std::chrono::milliseconds(50));

 private:
  std::string dir_;
  os::FakeClock* clock_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<api::HttpServer> server_;
  std::string admin_token_;
  std::atomic<bool> reporting_{false};
  std::thread reporter_;
};

httplib::Headers Bearer(std::string_view token);
nlohmann::json JsonOf(const httplib::Result& r);

// A host body for PUT /api/v1/hosts/{host}: `gpus` Tesla P40s at 0000:0N:00.0.
nlohmann::json P40Host(int gpus);

}  // namespace gpufleet::controller::testing

#endif  // GPUFLEET_CONTROLLER_TEST_UTIL_H_
