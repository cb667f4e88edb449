#include "controller/await_step.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/step_tx.h"

namespace gpufleet::controller::steps {

using store::OperationStep;
using store::StepState;
using store::WriteTx;

// Whether every desired vGPU of the awaited VM is observed on the host it was moved to.
absl::StatusOr<StepOutcome> ActAwait(const Context& c, const std::string& op_id,
                                     const OperationStep& step, const nlohmann::json& d) {
  const std::string vm = Str(d, "vm");
  const std::string host = Str(d, "host");
  auto unix_it = d.find("deadline_unix");
  if (unix_it == d.end() || !unix_it->is_number_integer()) {
    return absl::InternalError(
        StrCat("operation ", op_id, " step ", step.index, ": await without deadline_unix"));
  }
  const absl::Time deadline = absl::FromUnixSeconds(unix_it->get<int64_t>());
  const absl::Time now = c.clock->Now();
  nlohmann::json result;
  int missing = 0;
  int total = 0;
  std::string source;    // the host whose agent has yet to migrate the VM live
  std::string leftover;  // a host (not down) that still holds a copy of one of its vGPUs
  std::string elsewhere;
  absl::Time last_seen = absl::InfinitePast();
  absl::Status read = c.store->Read([&](store::ReadTx& tx) -> absl::Status {
    missing = total = 0;
    elsewhere.clear();
    source.clear();
    leftover.clear();
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> instances,
                              tx.ListDesiredInstances({.host = "", .gpu = "", .vm = vm}));
    for (const store::DesiredInstance& di : instances) {
      if (di.host != host) {
        elsewhere = di.host;
        continue;
      }
      ++total;
      if (!di.migrate_from.empty()) source = di.migrate_from;
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LeftoverInstance> copies,
                                tx.ListLeftoverInstances("", di.uuid));
      for (const store::LeftoverInstance& l : copies) {
        if (l.host == host) continue;
        // A down host's copies are gone with it as far as anyone can tell (HA restart).
        absl::StatusOr<store::Host> h = tx.GetHost(l.host);
        if (!h.ok() && !absl::IsNotFound(h.status())) return h.status();
        if (h.ok() && h->state != store::HostState::kDown) leftover = l.host;
      }
      absl::StatusOr<store::ObservedInstance> o = tx.GetObservedInstance(di.uuid);
      if (!o.ok() && !absl::IsNotFound(o.status())) return o.status();
      if (o.ok() && o->host == di.host && o->gpu == di.gpu) {
        last_seen = std::max(last_seen, o->observed_at);
      } else {
        ++missing;
      }
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  if (total == 0 && elsewhere.empty()) {
    result = {{"skipped", "the VM was deleted"}};
  } else if (!elsewhere.empty()) {
    result = {{"skipped", StrCat("the VM was moved on to ", elsewhere)}};
  } else if (missing == 0 && source.empty() && leftover.empty()) {
    result = {{"observed_at", TimeText(last_seen)}};
  } else if (now < deadline) {
    return StepOutcome::kWaiting;
  } else if (missing == 0 && source.empty()) {
    return absl::FailedPreconditionError(StrCat(
        "host ", leftover, " still holds vm ", vm, "'s vGPU(s) at ", TimeText(deadline),
        ": its agent has not torn its copy down (the VM may still run there, or the agent is "
        "down); see `leftovers` in GET /api/v1/hosts/",
        leftover, "/instances and the agent's log"));
  } else if (missing == 0) {
    return absl::FailedPreconditionError(
        StrCat("host ", source, " has not live-migrated vm ", vm, " to ", host, " by ",
               TimeText(deadline), ": its agent may be down; the VM may still run on ", source,
               " (see `gpufleet events` for vm/", vm, " and host/", source, ")"));
  } else {
    return absl::FailedPreconditionError(StrCat(
        "host ", host, " has not reported ", missing, " of vm ", vm, "'s ", total, " vGPU(s) by ",
        TimeText(deadline), ": its agent may be down or failing to create them; ",
        "see `gpufleet events` for host/", host, " and the agent's log"));
  }
  absl::Status written = c.store->Write([&](WriteTx& tx) -> absl::Status {
    GPUFLEET_RETURN_IF_ERROR(StillWanted(tx, op_id).status());
    return MarkStep(tx, step, StepState::kDone, d, result);
  });
  if (!written.ok()) return written;
  return StepOutcome::kActed;
}

}  // namespace gpufleet::controller::steps
