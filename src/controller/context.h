#ifndef GPUFLEET_CONTROLLER_CONTEXT_H_
#define GPUFLEET_CONTROLLER_CONTEXT_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/request.h"
#include "api/response.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"
#include "os/clock.h"
#include "store/store.h"

namespace gpufleet::controller {

class Placement;

// What every service of the controller uses. Pointers are not owned and outlive the services;
// all of them are thread-safe.
struct Context {
  store::Store* store = nullptr;
  const os::Clock* clock = nullptr;
  const core::Catalog* catalog = nullptr;
  Placement* placement = nullptr;
  // How long an operation waits for a moved VM's vGPUs to be reported by the destination
  // host's agent before that VM's `await` step fails (gpufleetd --converge-timeout).
  absl::Duration converge_timeout = absl::Minutes(10);
};

// Who an event names as its actor: the principal's name ("" when there is none).
[[nodiscard]] std::string ActorOf(const api::Request& request);

// Appends an event within `tx` (same transaction as the change it records).
absl::Status AppendEvent(store::WriteTx& tx, std::string_view kind, std::string_view object,
                         std::string_view actor, std::string_view message,
                         const nlohmann::json& data = nullptr);

// RFC 3339 in UTC with seconds ("2026-11-29T00:00:00Z"); JSON null for nullopt.
[[nodiscard]] std::string TimeText(absl::Time t);
[[nodiscard]] nlohmann::json TimeOrNull(const std::optional<absl::Time>& t);

// Names of hosts, VMs and tokens (they appear in URLs and events): 1 to 253 characters of
// letters, digits, '.', '-' and '_', starting with a letter or digit. InvalidArgument with
// `field` naming what is wrong otherwise.
absl::Status CheckName(std::string_view name, std::string_view field);

// The parsed JSON body of a request, or the 400 to answer.
[[nodiscard]] absl::StatusOr<nlohmann::json> JsonObjectBody(const api::Request& request);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_CONTEXT_H_
