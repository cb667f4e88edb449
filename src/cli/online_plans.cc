#include "cli/online_plans.h"

#include <vector>

#include "cli/online_common.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

std::string Joined(const json& list) {
  std::vector<std::string> parts;
  if (list.is_array()) {
    for (const json& s : list) parts.push_back(s.is_string() ? s.get<std::string>() : s.dump());
  }
  return parts.empty() ? "-" : StrJoin(parts, ", ");
}

void PrintStuck(const json& stuck, std::ostream& out) {
  Table t({"VM", "REASON"});
  for (const json& s : stuck) t.AddRow({StrOr(s, "vm"), StrOr(s, "reason")});
  t.Print(out);
}

}  // namespace

absl::Status RunHostMaintenance(Context& ctx, const HostMaintenanceOptions& o, std::ostream& out) {
  if (o.host.empty()) return absl::InvalidArgumentError("HOST: required");
  if (!o.dry_run) {
    return absl::InternalError(
        "host maintenance: only the dry run is a plan (see RunOperationStart)");
  }
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  absl::StatusOr<ApiReply> r = (*client)->Do({.method = "POST",
                                              .path = "/api/v1/plans/evacuate",
                                              .body = json{{"host", o.host}},
                                              .what = StrCat("host maintenance ", o.host)});
  if (!r.ok()) return r.status();
  const json& moves = r->body.value("moves", json::array());
  const json& stuck = r->body.value("stuck", json::array());
  ctx.exit_code = stuck.empty() ? 0 : 1;
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  out << "Maintenance of " << o.host << " (dry run, nothing moves): " << moves.size()
      << " live migration" << (moves.size() == 1 ? "" : "s") << ", " << stuck.size() << " VM"
      << (stuck.size() == 1 ? "" : "s") << " cannot move.\n";
  if (!moves.empty()) {
    out << '\n';
    Table t({"VM", "FROM", "TO", "GPUS", "TYPES", "STUN (s)"});
    for (const json& m : moves) {
      const json& to = m.value("to", json::object());
      t.AddRow({StrOr(m, "vm"), StrOr(m, "from"), StrOr(to, "host"),
                Joined(to.value("gpus", json::array())), Joined(to.value("types", json::array())),
                m.contains("stun_seconds") ? m["stun_seconds"].dump() : "-"});
    }
    t.Print(out);
  }
  if (!stuck.empty()) {
    out << '\n';
    PrintStuck(stuck, out);
  }
  return absl::OkStatus();
}

absl::Status RunHaCheck(Context& ctx, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  absl::StatusOr<ApiReply> r = (*client)->Do(
      {.method = "POST", .path = "/api/v1/plans/ha", .body = json::object(), .what = "ha check"});
  if (!r.ok()) return r.status();
  const bool ok = r->body.value("n_plus_one", false);
  ctx.exit_code = ok ? 0 : 1;
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  out << (ok ? "N+1 holds: the VMs of any one failed host can restart on the others.\n"
             : "N+1 does not hold: some host's failure leaves VMs without a GPU.\n");
  const json& failures = r->body.value("failures", json::array());
  if (!failures.empty()) {
    out << '\n';
    Table t({"IF HOST FAILS", "VMS", "CANNOT RESTART"});
    for (const json& f : failures) {
      std::vector<std::string> lost;
      for (const json& s : f.value("cannot_restart", json::array())) {
        lost.push_back(StrCat(StrOr(s, "vm"), " (", StrOr(s, "reason"), ")"));
      }
      t.AddRow({StrOr(f, "host"), f.contains("vms") ? f["vms"].dump() : "-",
                lost.empty() ? "-" : StrJoin(lost, "; ")});
    }
    t.Print(out);
  }
  const json& reserve = r->body.value("reserve", json::array());
  if (!reserve.empty()) {
    out << "\nSpare capacity N+1 still needs:\n";
    Table t({"TYPE", "INSTANCES", "ON HOSTS"});
    for (const json& v : reserve) {
      const json& hosts = v.value("hosts", json::array());
      t.AddRow({StrOr(v, "type"), v.contains("instances") ? v["instances"].dump() : "-",
                hosts.empty() && v.contains("note") ? StrOr(v, "note") : Joined(hosts)});
    }
    t.Print(out);
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
