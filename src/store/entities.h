#ifndef GPUFLEET_STORE_ENTITIES_H_
#define GPUFLEET_STORE_ENTITIES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/uuid.h"

namespace gpufleet::store {

// The rows the controller keeps. Plain data, copied freely. Names from the catalog and the planner
// (board, vGPU type, GPU mode, hypervisor) are stored as the strings those modules print; the
// store checks shape (non-empty keys, bounded lengths, hash format) but not meaning, which is the
// controller's job.
//
// Every mutable row has:
//   version     optimistic-concurrency counter: 1 after Create, +1 on each Update. Update and
//               Delete take the version the caller read; a mismatch is FailedPrecondition.
//   created_at  set by the store (from its os::Clock) on Create; ignored on input.
//   updated_at  set by the store on Create and on every Update; ignored on input.
// Other times (expiry, heartbeats, leases) are the caller's, taken from its own os::Clock.
//
// Ownership between rows (enforced by foreign keys; see schema.cc):
//   host -> gpus -> observed instances     cascade: inventory is what the agent reports, and a
//                                          host removed from inventory takes its GPUs with it.
//   gpu  -> desired instances              restrict: deleting a host or GPU that still holds a
//                                          VM's desired vGPU fails (FailedPrecondition); the
//                                          controller must unplace or evacuate first.
//   vm   -> desired instances, seats       cascade: they exist only for the VM.
//   license pool -> seats                  restrict: a pool with leased seats cannot be deleted.
//   operation -> steps                     cascade.

// Value of Update/Delete's expected version that skips the check (Delete only).
inline constexpr int64_t kAnyVersion = 0;

enum class HostState { kReady, kMaintenance, kDown };
enum class OperationState { kPending, kRunning, kSucceeded, kFailed, kCancelled };
enum class StepState { kPending, kRunning, kDone, kFailed, kRolledBack };
enum class Role { kViewer, kOperator, kAdmin };

[[nodiscard]] std::string_view HostStateName(HostState s);
[[nodiscard]] std::string_view OperationStateName(OperationState s);
[[nodiscard]] std::string_view StepStateName(StepState s);
[[nodiscard]] std::string_view RoleName(Role r);
// Inverses of the above; InvalidArgument naming the value and the accepted names.
absl::StatusOr<HostState> ParseHostState(std::string_view s);
absl::StatusOr<OperationState> ParseOperationState(std::string_view s);
absl::StatusOr<StepState> ParseStepState(std::string_view s);
absl::StatusOr<Role> ParseRole(std::string_view s);

// ---- Inventory (reported by agents) ----

struct Host {
  std::string name{};        // key
  std::string hypervisor{};  // "kvm", "vsphere"
  HostState state = HostState::kReady;
  std::string agent{};            // the agent credential reporting this host; "" = none yet
  std::string manager_version{};  // vGPU manager (host driver) version; "" = unknown
  std::map<std::string, std::string> labels{};
  std::optional<absl::Time> last_heartbeat{};
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const Host&) const = default;
};

struct Gpu {
  std::string host{};  // key, with id
  std::string id{};    // unique within the host: a PCI address or "gpu0"
  std::string board{};
  std::string mode{};         // planner::GpuModeName: "unconfigured", "equal-size", ...
  std::string carved_type{};  // equal-size: the vGPU type; "" otherwise
  bool ecc = false;
  bool held = false;  // excluded from placement (defrag, maintenance)
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const Gpu&) const = default;
};

// A vGPU instance the agent found on the host (sysfs mdev, vendor VFIO or vSphere).
struct ObservedInstance {
  Uuid uuid{};  // key
  std::string host{};
  std::string gpu{};
  std::string type{};
  std::string vm{};     // the VM it belongs to when the agent can tell; "" otherwise
  bool active = false;  // in use by a running VM
  absl::Time observed_at{};
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const ObservedInstance&) const = default;
};

// ---- Desired state (written by the controller) ----

// A host's copy of a vGPU instance whose observed row is another host's: the source of a move
// still reports the VM's UUID (UUIDs derive from the VM) until it has torn its copy down. Gone
// when a report from `host` no longer lists it, or with the host.
struct LeftoverInstance {
  std::string host{};  // key
  Uuid uuid{};         // key
  std::string vm{};
  absl::Time observed_at{};  // the first report (or takeover) that made it a leftover
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const LeftoverInstance&) const = default;
};

struct Vm {
  std::string name{};  // key
  // The request as the API accepted it (type or requirement, count, affinity), in the
  // controller's JSON form; the store keeps it as text.
  std::string spec_json{};
  std::string phase{};    // the controller's lifecycle word: "pending", "placed", "failed", ...
  std::string license{};  // edition id; "" = the type's default
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const Vm&) const = default;
};

// One vGPU of a VM, placed by the planner: what the agent of `host` must converge to.
struct DesiredInstance {
  Uuid uuid{};  // key: the deterministic mdev UUID the controller derives from the VM
  std::string vm{};
  int index = 0;  // which vGPU of the VM (0-based); (vm, index) is unique
  std::string host{};
  std::string gpu{};
  std::string type{};
  int placement = -1;  // mixed-size placement id or MIG start slice; -1 = none
  // A live migration not done yet: the host the VM runs on until its agent has migrated it to
  // `host` (and said so); "" otherwise.
  std::string migrate_from{};
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const DesiredInstance&) const = default;
};

// ---- Durable operations ----

struct Operation {
  std::string id{};    // key, chosen by the controller
  std::string kind{};  // "migrate", "evacuate", "recarve", "ha-restart", ...
  OperationState state = OperationState::kPending;
  std::string target{};       // what it acts on: "host/r730-1", "vm/web-1"
  std::string params_json{};  // the operation's input, JSON text
  std::string error{};        // why it failed; "" otherwise
  std::string actor{};        // who asked for it ("" = the controller itself)
  // Set by a cancel request; the runner stops before the next step and undoes what it can.
  bool cancel_requested = false;
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const Operation&) const = default;
};

// One step of an operation, written (state kPending) before the step acts, and updated after.
struct OperationStep {
  std::string operation{};  // key, with index
  int index = 0;
  std::string kind{};
  StepState state = StepState::kPending;
  std::string detail_json{};  // inputs, results, what to undo
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const OperationStep&) const = default;
};

// ---- Events (append-only audit log) ----

struct Event {
  int64_t seq = 0;       // assigned by AppendEvent: strictly increasing in commit order, from 1
  absl::Time time{};     // assigned by AppendEvent from the store's clock
  std::string kind{};    // "vm.placed", "host.down", "token.created", ...
  std::string object{};  // "vm/web-1", "host/r730-1"; "" when none
  std::string actor{};   // the token name or agent that caused it; "" = the controller
  std::string message{};
  std::string data_json{};  // "" or a JSON object

  bool operator==(const Event&) const = default;
};

// ---- Licensing ----

struct LicensePool {
  std::string name{};     // key
  std::string edition{};  // "vWS", "vCS", "vPC", "vApps"
  int seats = 0;
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const LicensePool&) const = default;
};

struct LicenseSeat {
  std::string pool{};  // key, with vm
  std::string vm{};
  absl::Time leased_at{};
  std::optional<absl::Time> expires_at{};
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const LicenseSeat&) const = default;
};

// ---- Authentication (secrets are stored only as SHA-256, lower-case hex) ----

struct ApiToken {
  std::string sha256{};  // key; 64 lower-case hex digits
  std::string name{};    // unique
  Role role = Role::kViewer;
  std::optional<absl::Time> expires_at{};
  std::optional<absl::Time> last_used_at{};
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const ApiToken&) const = default;
};

struct AgentCredential {
  std::string agent{};          // key: the agent's name
  std::string secret_sha256{};  // unique
  bool revoked = false;
  std::optional<absl::Time> last_seen_at{};
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const AgentCredential&) const = default;
};

// Single use: ConsumeEnrolmentToken (store.h) marks it used.
struct EnrolmentToken {
  std::string sha256{};  // key
  std::string name{};    // what it was issued for (an agent name or a note)
  absl::Time expires_at{};
  std::optional<absl::Time> used_at{};
  std::string used_by{};  // the agent that enrolled with it
  int64_t version = 0;
  absl::Time created_at{};
  absl::Time updated_at{};

  bool operator==(const EnrolmentToken&) const = default;
};

// True for 64 lower-case hex digits.
[[nodiscard]] bool IsSha256Hex(std::string_view s);

}  // namespace gpufleet::store

#endif  // GPUFLEET_STORE_ENTITIES_H_
