#include "controller/start_holds.h"

#include <map>
#include <set>

#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::controller {

absl::StatusOr<nlohmann::json> StartHolds(store::ReadTx& tx, const std::string& host,
                                          const std::vector<store::DesiredInstance>& instances) {
  // One query for what this host reports; the others only for vGPUs it does not run: in the
  // steady state (every VM running where it is desired) a poll costs that one query.
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::ObservedInstance> observed,
                            tx.ListObservedInstances(host));
  std::map<Uuid, bool> here;  // uuid -> active
  for (const store::ObservedInstance& o : observed) here[o.uuid] = o.active;
  std::set<std::string> running;
  for (const store::DesiredInstance& d : instances) {
    auto it = here.find(d.uuid);
    if (it != here.end() && it->second) running.insert(d.vm);
  }
  std::map<std::string, bool> down;  // host -> down, as read once per call
  auto up = [&](const std::string& other) -> absl::StatusOr<bool> {
    auto it = down.find(other);
    if (it == down.end()) {
      absl::StatusOr<store::Host> h = tx.GetHost(other);
      if (!h.ok() && !absl::IsNotFound(h.status())) return h.status();
      it = down.emplace(other, !h.ok() || h->state == store::HostState::kDown).first;
    }
    return !it->second;
  };
  std::map<std::string, std::string> holds;  // vm -> reason
  for (const store::DesiredInstance& d : instances) {
    if (running.contains(d.vm) || holds.contains(d.vm)) continue;
    if (!d.migrate_from.empty()) {
      // Only the source's report ends a live migration; a source that died before it reported
      // holds nothing (the VM starts cold here, as after any HA restart), but its copies, if
      // it comes back, are looked for below like any other host's.
      GPUFLEET_ASSIGN_OR_RETURN(bool source_up, up(d.migrate_from));
      if (source_up) {
        holds[d.vm] = StrCat("live-migrating from ", d.migrate_from);
        continue;
      }
    }
    std::string elsewhere;
    if (!here.contains(d.uuid)) {
      absl::StatusOr<store::ObservedInstance> o = tx.GetObservedInstance(d.uuid);
      if (!o.ok() && !absl::IsNotFound(o.status())) return o.status();
      if (o.ok() && o->host != host) {
        GPUFLEET_ASSIGN_OR_RETURN(bool other_up, up(o->host));
        if (other_up) elsewhere = o->host;
      }
    }
    if (elsewhere.empty()) {
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LeftoverInstance> copies,
                                tx.ListLeftoverInstances("", d.uuid));
      for (const store::LeftoverInstance& l : copies) {
        if (l.host == host) continue;
        GPUFLEET_ASSIGN_OR_RETURN(bool other_up, up(l.host));
        if (other_up) {
          elsewhere = l.host;
          break;
        }
      }
    }
    if (!elsewhere.empty()) holds[d.vm] = StrCat("still on ", elsewhere);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [vm, reason] : holds) out.push_back({{"vm", vm}, {"reason", reason}});
  return out;
}

}  // namespace gpufleet::controller
