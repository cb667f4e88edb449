#include "controller/live_migration.h"

#include <algorithm>
#include <map>

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/context.h"

namespace gpufleet::controller {
namespace {

// The longest error text kept from an agent (the hypervisor's message).
constexpr std::size_t kMaxErrorLength = 1024;

absl::Status Invalid(std::string_view field, std::string_view why) {
  return WithField(absl::InvalidArgumentError(StrCat(field, ": ", why)), field);
}

std::string StunText(int ms) { return StrCat(ms / 1000, ".", (ms % 1000) / 100, " s"); }

}  // namespace

absl::StatusOr<std::vector<MigrationReport>> DecodeMigrationReports(const nlohmann::json* list) {
  std::vector<MigrationReport> out;
  if (list == nullptr) return out;
  if (list->size() > kMaxReportedMigrations) {
    return Invalid("migrations", StrCat("more than ", kMaxReportedMigrations, " migrations"));
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = StrCat("migrations[", i, "]");
    const nlohmann::json& j = (*list)[i];
    if (!j.is_object()) return Invalid(path, "expected an object");
    JsonReader r(j, path);
    MigrationReport m;
    m.vm = r.String("vm");
    m.to = r.String("to");
    m.stun_ms = r.OptInt("stun_ms", 0, kMaxStunMs);
    m.error = r.OptString("error").value_or("");
    m.unmeasured = r.OptBool("unmeasured").value_or(false);
    GPUFLEET_RETURN_IF_ERROR(r.Finish());
    GPUFLEET_RETURN_IF_ERROR(CheckName(m.vm, r.PathOf("vm")));
    GPUFLEET_RETURN_IF_ERROR(CheckName(m.to, r.PathOf("to")));
    if (m.stun_ms.has_value() + !m.error.empty() + m.unmeasured != 1) {
      return Invalid(path,
                     "give one of stun_ms (it migrated), unmeasured: true (it migrated, pause "
                     "not measured) or error (it did not)");
    }
    if (m.error.size() > kMaxErrorLength || std::any_of(m.error.begin(), m.error.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        })) {
      return Invalid(r.PathOf("error"), StrCat("must be at most ", kMaxErrorLength,
                                               " bytes, without control characters"));
    }
    out.push_back(std::move(m));
  }
  return out;
}

nlohmann::json MigrationReportsJson(const std::vector<MigrationReport>& reports) {
  nlohmann::json list = nlohmann::json::array();
  for (const MigrationReport& m : reports) {
    nlohmann::json j = {{"vm", m.vm}, {"to", m.to}};
    if (m.stun_ms) {
      j["stun_ms"] = *m.stun_ms;
    } else if (m.unmeasured) {
      j["unmeasured"] = true;
    } else {
      j["error"] = m.error;
    }
    list.push_back(std::move(j));
  }
  return list;
}

absl::StatusOr<nlohmann::json> Departures(store::ReadTx& tx, const std::string& host) {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> waiting,
                            tx.ListDesiredInstances({.migrate_from = host}));
  // Per VM: its destination, and whether the destination reported every instance.
  std::map<std::string, std::pair<std::string, bool>> vms;
  for (const store::DesiredInstance& d : waiting) {
    auto [it, added] = vms.try_emplace(d.vm, d.host, true);
    if (!it->second.second) continue;
    absl::StatusOr<store::ObservedInstance> o = tx.GetObservedInstance(d.uuid);
    if (!o.ok() && !absl::IsNotFound(o.status())) return o.status();
    if (!o.ok() || o->host != d.host || o->gpu != d.gpu) it->second.second = false;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [vm, to] : vms)
    out.push_back({{"vm", vm}, {"to", to.first}, {"ready", to.second}});
  return out;
}

absl::StatusOr<int> ApplyMigrationReports(store::WriteTx& tx, const std::string& host,
                                          const std::vector<MigrationReport>& reports,
                                          std::string_view actor) {
  int recorded = 0;
  for (const MigrationReport& m : reports) {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> instances,
                              tx.ListDesiredInstances({.vm = m.vm, .migrate_from = host}));
    // Only a report about the migration the controller asked for counts.
    if (instances.empty() ||
        std::any_of(instances.begin(), instances.end(),
                    [&](const store::DesiredInstance& d) { return d.host != m.to; })) {
      continue;
    }
    for (store::DesiredInstance& d : instances) {
      d.migrate_from.clear();
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateDesiredInstance(d));
    }
    ++recorded;
    if (m.stun_ms) {
      GPUFLEET_RETURN_IF_ERROR(
          AppendEvent(tx, "vm.live-migrated", StrCat("vm/", m.vm), actor,
                      StrCat("vm ", m.vm, " live-migrated from ", host, " to ", m.to, ", paused ",
                             StunText(*m.stun_ms)),
                      {{"from", host}, {"to", m.to}, {"stun_ms", *m.stun_ms}}));
    } else if (m.unmeasured) {
      GPUFLEET_RETURN_IF_ERROR(
          AppendEvent(tx, "vm.live-migrated", StrCat("vm/", m.vm), actor,
                      StrCat("vm ", m.vm, " live-migrated from ", host, " to ", m.to,
                             "; its pause was not measured (the agent of ", host,
                             " restarted during the migration)"),
                      {{"from", host}, {"to", m.to}, {"stun_ms", nullptr}}));
    } else {
      GPUFLEET_RETURN_IF_ERROR(
          AppendEvent(tx, "vm.live-migration-failed", StrCat("vm/", m.vm), actor,
                      StrCat("vm ", m.vm, " could not live-migrate from ", host, " to ", m.to, ": ",
                             m.error, "; it restarts on ", m.to, " instead (a cold move)"),
                      {{"from", host}, {"to", m.to}, {"error", m.error}}));
    }
  }
  return recorded;
}

}  // namespace gpufleet::controller
