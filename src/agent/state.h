#ifndef GPUFLEET_AGENT_STATE_H_
#define GPUFLEET_AGENT_STATE_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/controller_api.h"
#include "common/uuid.h"
#include "os/file_system.h"

namespace gpufleet::agent {

// What the agent keeps on local disk so that it converges after a host reboot while the
// controller is unreachable: its credential, the last desired state, and the instances it owns
// (ever asked for by the controller; only those are removed when no longer desired); and the
// live migrations it has dealt with, so that a restarted agent neither migrates a VM twice nor
// loses a stun time it has not reported yet.
struct AgentState {
  std::string host{};
  std::string credential{};  // the agent credential; the file is 0600
  DesiredState desired{};
  std::set<Uuid> owned{};
  // Departures migrated or refused, while the controller still lists them.
  std::set<std::string> departed{};
  // Their results, until a PUT /hosts/{host}/instances has carried them.
  std::vector<MigrationResult> unreported{};
  // The departure being migrated, written before the hypervisor is asked and cleared with its
  // result: found on start, it means the agent died during that migration (Agent resolves it
  // by whether the VM still runs here).
  std::optional<Departure> migrating{};
  bool operator==(const AgentState&) const = default;
};

[[nodiscard]] std::string EncodeAgentState(const AgentState& state);
// `what` names the source in errors (the file's path).
absl::StatusOr<AgentState> DecodeAgentState(std::string_view text, std::string_view what);

// The state file `<dir>/agent-state.json`. Save is atomic and durable (os::WriteFileDurably).
class StateFile {
 public:
  // `fs` reads (root "/" in production); writes go to the real path.
  StateFile(const os::FileSystem& fs, std::string dir);
  // nullopt when there is no file yet; an error when it exists but cannot be read or decoded.
  absl::StatusOr<std::optional<AgentState>> Load() const;
  absl::Status Save(const AgentState& state) const;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  const os::FileSystem& fs_;
  std::string dir_;
  std::string path_;
};

}  // namespace gpufleet::agent

#endif  // GPUFLEET_AGENT_STATE_H_
