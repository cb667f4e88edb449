#ifndef GPUFLEET_CONTROLLER_INVENTORY_H_
#define GPUFLEET_CONTROLLER_INVENTORY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/router.h"
#include "controller/context.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller {

struct InventoryOptions {
  // Agents heartbeat this often; a host is down after kMissedHeartbeats intervals of silence.
  absl::Duration heartbeat_interval = absl::Seconds(10);
};

inline constexpr int kMissedHeartbeats = 3;

// Hosts and GPUs as agents (or admins) report them, and host liveness. Thread-safe.
//
// Routes:
//   PUT  /api/v1/hosts/{host}            the agent of {host}, or admin: register or replace the
//                                        host's facts and its full GPU list (If-Match optional)
//   GET  /api/v1/hosts                   viewer
//   GET  /api/v1/hosts/{host}            viewer; ETag
//   GET  /api/v1/gpus?host=&board=       viewer
//   POST /api/v1/hosts/{host}/heartbeat  the agent of {host}, or admin
// Every change is recorded as an event in the transaction that makes it, and the placement
// engine is rebuilt (inventory) or told (state changes).
class Inventory {
 public:
  Inventory(Context context, InventoryOptions options) : context_(context), options_(options) {}

  absl::Status AddRoutes(api::Router& router);

  // Marks down every host not down whose last heartbeat (or registration, when it never sent
  // one) is kMissedHeartbeats intervals or more before the clock's now; event "host.down" for
  // each. Returns the hosts it marked. Called by a background thread of the binary, and by tests
  // with a FakeClock. Thread-safe.
  absl::StatusOr<std::vector<std::string>> SweepLiveness();

  [[nodiscard]] const InventoryOptions& options() const { return options_; }

 private:
  api::Response PutHost(const api::Request& request);
  api::Response ListHosts(const api::Request& request);
  api::Response GetHost(const api::Request& request);
  api::Response ListGpus(const api::Request& request);
  api::Response Heartbeat(const api::Request& request);

  Context context_;
  InventoryOptions options_;
};

[[nodiscard]] nlohmann::json HostJson(const store::Host& host, const std::vector<store::Gpu>& gpus);
[[nodiscard]] nlohmann::json GpuJson(const store::Gpu& gpu);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_INVENTORY_H_
