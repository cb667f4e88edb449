#ifndef GPUFLEET_CONTROLLER_INVENTORY_H_
#define GPUFLEET_CONTROLLER_INVENTORY_H_

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  // Called after a host's deletion removed its agent's credential (the controller empties the
  // verified-credential cache, so the agent is refused at once).
  std::function<void()> credentials_revoked{};
  // Called after a host's deletion committed, with its name (the controller drops what it keeps
  // of the host in memory, such as the creatable types its agent last reported).
  std::function<void(const std::string&)> host_deleted{};
};

inline constexpr int kMissedHeartbeats = 3;

class HeartbeatTable;

// Hosts and GPUs as agents (or admins) report them, and host liveness. Thread-safe.
//
// Routes:
//   PUT  /api/v1/hosts/{host}            the agent of {host}, or admin: register or replace the
//                                        host's facts and its full GPU list (If-Match optional)
//   GET  /api/v1/hosts                   viewer
//   GET  /api/v1/hosts/{host}            viewer; ETag
//   DELETE /api/v1/hosts/{host}          admin: a host that runs no VM (409 naming them
//                                        otherwise), with its GPUs and its agent's credential;
//                                        If-Match honoured
//   GET  /api/v1/gpus?host=&board=       viewer
//   POST /api/v1/hosts/{host}/heartbeat  the agent of {host}, or admin
// Every change is recorded as an event in the transaction that makes it, and the placement
// engine is rebuilt (inventory) or told (state changes).
//
// Heartbeats are soft state. The last heartbeat of each host lives in memory: a heartbeat of a
// host that is not down takes neither the placement lock nor a store write (a store read only
// for the first heartbeat of a host since the controller started). The store's last_heartbeat
// is written lazily by FlushHeartbeats, which SweepLiveness runs at most once per heartbeat
// interval, so after a crash the stored time may be up to one interval (plus the sweep period)
// old; GET shows the live value. Only state changes are durable at once: the heartbeat of a down
// host writes state ready with its "host.up" event before it is answered, and the sweep writes
// state down with "host.down". After a restart, a host that has not heartbeated yet is timed
// from the later of its stored last heartbeat (or registration) and the controller's start, so
// a restart never marks hosts down for silence that happened while no controller was running.
class Inventory {
 public:
  Inventory(Context context, InventoryOptions options);
  // Writes the heartbeats not yet flushed (best effort: errors are dropped). The store must
  // still be open.
  ~Inventory();
  Inventory(const Inventory&) = delete;
  Inventory& operator=(const Inventory&) = delete;

  absl::Status AddRoutes(api::Router& router);

  // Marks down every host not down whose last heartbeat is kMissedHeartbeats intervals or more
  // before the clock's now; event "host.down" for each. The last heartbeat is the one received
  // by this controller, else the later of the stored one (or the registration, when the host
  // never sent one) and the controller's start. Then, when a heartbeat interval has passed since
  // the previous flush, FlushHeartbeats. Returns the hosts it marked. Called by a background
  // thread of the binary, and by tests with a FakeClock. Thread-safe; concurrent calls run one
  // after the other.
  absl::StatusOr<std::vector<std::string>> SweepLiveness();

  // Writes to the store, in one transaction, without events and without a new version of the
  // row (an ETag taken before still holds), the last heartbeat of every
  // host that heartbeated since the previous flush. On an error the hosts stay pending for the
  // next flush. Thread-safe.
  absl::Status FlushHeartbeats();

  // The last heartbeat of `host` received by this controller since it started, or nullopt.
  [[nodiscard]] std::optional<absl::Time> LastHeartbeat(std::string_view host) const;

  [[nodiscard]] const InventoryOptions& options() const { return options_; }

 private:
  api::Response PutHost(const api::Request& request);
  api::Response ListHosts(const api::Request& request);
  api::Response GetHost(const api::Request& request);
  api::Response DeleteHost(const api::Request& request);
  api::Response ListGpus(const api::Request& request);
  api::Response Heartbeat(const api::Request& request);
  // A heartbeat the in-memory table cannot take: the first of a host since the start, or one of
  // a host that is (being marked) down. Returns the host's state after it.
  absl::StatusOr<store::HostState> HeartbeatFromStore(std::string_view name, absl::Time now,
                                                      std::string_view actor);
  // The heartbeat of a down host: state ready and "host.up", durably, under the placement lock.
  absl::StatusOr<store::HostState> HeartbeatDurably(std::string_view name, absl::Time now,
                                                    std::string_view actor);
  // Claims each candidate (name, the time it is timed from without a heartbeat of this
  // controller) that is still silent, writes it down with "host.down" and tells the placement
  // engine; `marked` gets the hosts written down.
  absl::Status MarkDown(const std::vector<std::pair<std::string, absl::Time>>& candidates,
                        absl::Time now, absl::Duration grace, std::vector<std::string>& marked);
  // `host` with its last heartbeat replaced by the live one when that is later.
  void OverlayLastHeartbeat(store::Host& host) const;

  Context context_;
  InventoryOptions options_;
  // The clock's now at construction: the start of the restart grace period.
  absl::Time started_;
  std::unique_ptr<HeartbeatTable> beats_;
  std::mutex sweep_mu_;    // one sweep at a time
  absl::Time last_flush_;  // guarded by sweep_mu_
  std::mutex flush_mu_;    // one flush at a time
};

[[nodiscard]] nlohmann::json HostJson(const store::Host& host, const std::vector<store::Gpu>& gpus);
[[nodiscard]] nlohmann::json GpuJson(const store::Gpu& gpu);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_INVENTORY_H_
