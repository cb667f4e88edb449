#ifndef GPUFLEET_CONTROLLER_LIVE_MIGRATION_H_
#define GPUFLEET_CONTROLLER_LIVE_MIGRATION_H_

// Live migrations between the controller and the agents. A `move` step of a live migration
// points the VM's desired instances at the destination and marks them `migrate_from` the source
// host, and the source host's desired document lists the VM under `departures`. Once the
// destination's agent reports every one of them (it created them, idle), the departure is
// `ready` and the source's agent migrates the running VM through its hypervisor and reports how it
// went in its next instances report
// (`migrations`). The report clears `migrate_from` and records the stun time, or the error after
// which the VM restarts cold on the destination.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace gpufleet::controller {

// The most migrations one instances report may carry.
inline constexpr std::size_t kMaxReportedMigrations = 256;
// The longest stun an agent may report: an hour, in milliseconds.
inline constexpr int kMaxStunMs = 3'600'000;

// One entry of the report's "migrations": {"vm", "to", "stun_ms"} after a live migration,
// {"vm", "to", "error"} when the hypervisor refused it (the agent then stops the VM, and the
// destination starts it: a cold move), or {"vm", "to", "unmeasured": true} when the VM left the
// source during a migration whose end its agent did not see (restarted meanwhile).
struct MigrationReport {
  std::string vm;
  std::string to;
  std::optional<int> stun_ms;
  std::string error;
  bool unmeasured = false;
};

// Decodes body["migrations"] (absent: none). Errors name the field ("migrations[2].to: ...").
absl::StatusOr<std::vector<MigrationReport>> DecodeMigrationReports(const nlohmann::json* list);
[[nodiscard]] nlohmann::json MigrationReportsJson(const std::vector<MigrationReport>& reports);

// The VMs host `host` is to migrate: [{vm, to, ready}] sorted by VM, those whose desired
// instances wait for `host`; `ready` once the destination reports every one of them. Until
// then the source keeps the VM running where it is (it must not stop it as unwanted).
absl::StatusOr<nlohmann::json> Departures(store::ReadTx& tx, const std::string& host);

// Records what the agent of `host` reports: the VMs' instances stop waiting for it, with an
// event each (vm.live-migrated with the stun, or vm.live-migration-failed with the error). A
// report about a VM that does not wait for this host (done already, moved on, deleted) is
// ignored: agents repeat reports until one is acknowledged. Returns how many it recorded.
absl::StatusOr<int> ApplyMigrationReports(store::WriteTx& tx, const std::string& host,
                                          const std::vector<MigrationReport>& reports,
                                          std::string_view actor);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_LIVE_MIGRATION_H_
