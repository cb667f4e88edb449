#include "cli/plan_ops_command.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "cli/plan_command.h"
#include "common/strings.h"
#include "planner/planner.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

const std::string& HostName(const planner::Cluster& c, int h) {
  return c.hosts[static_cast<std::size_t>(h)].name;
}
const std::string& VmName(const planner::Cluster& c, int vm) {
  return c.vms[static_cast<std::size_t>(vm)].name;
}

std::string Where(const planner::Cluster& c, const planner::Assignment& a) {
  std::vector<std::string> parts;
  const planner::Host& h = c.hosts[static_cast<std::size_t>(a.host)];
  for (std::size_t i = 0; i < a.gpus.size(); ++i) {
    parts.push_back(StrCat(h.gpus[static_cast<std::size_t>(a.gpus[i])].id, " (",
                           a.types[i] ? a.types[i]->name : "pass-through", ")"));
  }
  return StrJoin(parts, ", ");
}

json MovesJson(const planner::Cluster& c, const std::vector<planner::Move>& moves) {
  json out = json::array();
  for (const planner::Move& m : moves) {
    out.push_back({{"vm", VmName(c, m.vm)},
                   {"from", HostName(c, m.from_host)},
                   {"to", HostName(c, m.to.host)},
                   {"gpus", Where(c, m.to)},
                   {"stun_seconds", std::round(m.stun_seconds * 10) / 10}});
  }
  return out;
}

void PrintMoves(const planner::Cluster& c, const std::vector<planner::Move>& moves,
                std::ostream& out) {
  Table t({"VM", "FROM", "TO", "GPU (TYPE)", "EST. STUN"});
  for (const planner::Move& m : moves) {
    t.AddRow({VmName(c, m.vm), HostName(c, m.from_host), HostName(c, m.to.host), Where(c, m.to),
              StrCat(std::lround(m.stun_seconds), " s")});
  }
  t.Print(out);
}

absl::StatusOr<int> FindHost(const planner::Cluster& c, const std::string& name) {
  std::vector<std::string> names;
  for (std::size_t h = 0; h < c.hosts.size(); ++h) {
    if (c.hosts[h].name == name) return static_cast<int>(h);
    names.push_back(c.hosts[h].name);
  }
  std::string msg = StrCat("--host ", QuoteForMessage(name), ": no such host in the cluster");
  if (auto near = ClosestMatch(name, names)) StrAppend(&msg, "; did you mean ", *near, "?");
  return absl::NotFoundError(msg);
}

absl::StatusOr<planner::EvacuateOptions> EvacuateOptionsFrom(const PlanOpsOptions& o) {
  planner::EvacuateOptions options;
  absl::StatusOr<planner::Policy> policy = ParsePolicyFlag(o.policy);
  if (!policy.ok()) return policy.status();
  options.place.policy = *policy;
  if (o.stun_budget) {
    if (!(*o.stun_budget > 0) || *o.stun_budget > 3600) {
      return absl::InvalidArgumentError("--stun-budget: expected seconds in (0, 3600]");
    }
    options.stun_budget_seconds = o.stun_budget;
  }
  return options;
}

}  // namespace

absl::Status RunEvacuate(Context& ctx, const PlanOpsOptions& o, std::ostream& out) {
  absl::StatusOr<planner::EvacuateOptions> options = EvacuateOptionsFrom(o);
  if (!options.ok()) return options.status();
  absl::StatusOr<planner::Cluster> cluster = LoadClusterFile(ctx, o.cluster);
  if (!cluster.ok()) return cluster.status();
  if (o.host.empty()) return absl::InvalidArgumentError("--host: required (the host to empty)");
  absl::StatusOr<int> host = FindHost(*cluster, o.host);
  if (!host.ok()) return host.status();

  const planner::EvacuationResult r = planner::Evacuate(*cluster, *host, *options);
  const planner::Cluster& c = r.cluster;
  ctx.exit_code = r.stuck.empty() ? 0 : 1;
  json stuck = json::array();
  for (const planner::Stuck& s : r.stuck)
    stuck.push_back({{"vm", VmName(c, s.vm)}, {"reason", s.reason}});
  double total = 0;
  for (const planner::Move& m : r.moves) total += m.stun_seconds;
  const json doc = {{"host", o.host},
                    {"can_empty", r.stuck.empty()},
                    {"moves", MovesJson(c, r.moves)},
                    {"stuck", std::move(stuck)},
                    {"total_stun_seconds", std::round(total * 10) / 10}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  out << "Evacuation of " << o.host << " for maintenance (policy "
      << planner::PolicyName(options->place.policy) << ")\n\n";
  if (!r.moves.empty()) PrintMoves(c, r.moves, out);
  if (!r.stuck.empty()) {
    out << (r.moves.empty() ? "" : "\n") << "Cannot move:\n";
    Table t({"VM", "REASON"});
    for (const planner::Stuck& s : r.stuck) t.AddRow({VmName(c, s.vm), s.reason});
    t.Print(out);
  }
  out << "\n";
  if (r.moves.empty() && r.stuck.empty()) {
    out << o.host << " runs no vGPU VM: it can enter maintenance now.\n";
  } else if (r.stuck.empty()) {
    out << Wrap(StrCat(o.host, " can be emptied with ", r.moves.size(), " live migration",
                       r.moves.size() == 1 ? "" : "s", " (estimated stun ", std::lround(total),
                       " s in all, assuming each VM uses its whole framebuffer)."),
                100, "")
        << "\n";
  } else {
    out << o.host << " cannot be emptied: " << r.stuck.size() << " VM"
        << (r.stuck.size() == 1 ? "" : "s")
        << " would stay. Fix the reasons above, or power those VMs off first.\n";
  }
  return absl::OkStatus();
}

absl::Status RunHa(Context& ctx, const PlanOpsOptions& o, std::ostream& out) {
  absl::StatusOr<planner::Policy> policy = ParsePolicyFlag(o.policy);
  if (!policy.ok()) return policy.status();
  absl::StatusOr<planner::Cluster> cluster = LoadClusterFile(ctx, o.cluster);
  if (!cluster.ok()) return cluster.status();
  const planner::HaResult r = planner::CheckHa(*cluster, {*policy, {}});
  const planner::Cluster& c = *cluster;
  ctx.exit_code = r.n_plus_one ? 0 : 1;
  json failures = json::array();
  Table t({"IF THIS HOST FAILS", "VMS", "RESTART ELSEWHERE", "SHORT OF"});
  for (const planner::HostFailure& f : r.failures) {
    json cannot = json::array();
    for (const planner::Stuck& s : f.cannot_restart) {
      cannot.push_back({{"vm", VmName(c, s.vm)}, {"reason", s.reason}});
    }
    std::vector<std::string> missing;
    for (const auto& [type, n] : f.missing_by_type) missing.push_back(StrCat(n, " x ", type));
    failures.push_back({{"host", HostName(c, f.host)},
                        {"vms", f.vms},
                        {"cannot_restart", std::move(cannot)},
                        {"missing", f.missing_by_type}});
    t.AddRow({HostName(c, f.host), StrCat(f.vms),
              StrCat(f.vms - static_cast<int>(f.cannot_restart.size()), " of ", f.vms),
              missing.empty() ? "-" : StrJoin(missing, ", ")});
  }
  json reserve = json::array();
  for (const planner::Reservation& res : r.reserve) {
    json item = {{"type", res.type}, {"instances", res.instances}, {"hosts", res.hosts}};
    if (!res.note.empty()) item["note"] = res.note;
    reserve.push_back(std::move(item));
  }
  const json doc = {{"n_plus_one", r.n_plus_one},
                    {"failures", std::move(failures)},
                    {"reserve", std::move(reserve)}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  out << "HA check: can the vGPU VMs of any one failed host restart on the others?\n\n";
  if (r.failures.empty()) {
    out << "No ready host runs a vGPU VM: nothing to protect.\n";
    return absl::OkStatus();
  }
  t.Print(out);
  // One line per failed host and reason, with the VMs it applies to.
  bool any = false;
  for (const planner::HostFailure& f : r.failures) {
    std::vector<std::pair<std::string, std::vector<std::string>>> by_reason;
    for (const planner::Stuck& s : f.cannot_restart) {
      auto it = std::find_if(by_reason.begin(), by_reason.end(),
                             [&](const auto& e) { return e.first == s.reason; });
      if (it == by_reason.end()) it = by_reason.insert(by_reason.end(), {s.reason, {}});
      it->second.push_back(VmName(c, s.vm));
    }
    for (const auto& [reason, vms] : by_reason) {
      if (!any) out << "\nWhy not:\n";
      any = true;
      out << "  "
          << Wrap(StrCat(HostName(c, f.host), " fails: ", StrJoin(vms, ", "), ": ", reason), 98,
                  "    ")
          << "\n";
    }
  }
  if (r.n_plus_one) {
    out << "\nN+1: yes. Every single-host failure can be absorbed.\n";
    return absl::OkStatus();
  }
  out << "\nN+1: no. To survive the worst single-host failure, keep this much spare:\n";
  Table rt({"TYPE", "INSTANCES", "EMPTY GPUS TO KEEP IT ON"});
  for (const planner::Reservation& res : r.reserve) {
    rt.AddRow(
        {res.type, StrCat(res.instances), res.hosts.empty() ? res.note : StrJoin(res.hosts, ", ")});
  }
  rt.Print(out);
  return absl::OkStatus();
}

absl::Status RunDefrag(Context& ctx, const PlanOpsOptions& o, std::ostream& out) {
  absl::StatusOr<planner::EvacuateOptions> options = EvacuateOptionsFrom(o);
  if (!options.ok()) return options.status();
  if (o.target.empty())
    return absl::InvalidArgumentError("--type: required (the vGPU type to make room for)");
  if (o.count < 1 || o.count > 100000) {
    return absl::InvalidArgumentError("--count: expected 1..100000 instances");
  }
  absl::StatusOr<planner::Cluster> cluster = LoadClusterFile(ctx, o.cluster);
  if (!cluster.ok()) return cluster.status();
  absl::StatusOr<const core::VgpuType*> type = ctx.catalog->ResolveType(o.target);
  if (!type.ok()) {
    return absl::Status(type.status().code(), StrCat("--type: ", ToStd(type.status().message())));
  }
  const planner::DefragResult r = planner::Defrag(*cluster, **type, o.count, *options);
  const planner::Cluster& c = r.cluster;
  ctx.exit_code = r.satisfied ? 0 : 1;
  json recarves = json::array();
  for (const planner::Recarve& rc : r.recarves) {
    recarves.push_back(
        {{"host", HostName(c, rc.host)},
         {"gpu",
          c.hosts[static_cast<std::size_t>(rc.host)].gpus[static_cast<std::size_t>(rc.gpu)].id},
         {"from", rc.from ? json(rc.from->name) : json(nullptr)},
         {"to", rc.to->name}});
  }
  const json doc = {{"type", (*type)->name},
                    {"count", o.count},
                    {"satisfied", r.satisfied},
                    {"free_before", r.free_before},
                    {"free_after", r.free_after},
                    {"moves_lower_bound", r.moves_lower_bound},
                    {"minimal", r.minimal},
                    {"moves", MovesJson(c, r.moves)},
                    {"recarves", std::move(recarves)},
                    {"explanation", r.explanation}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  out << "Make room for " << o.count << " x " << (*type)->name << "\n";
  if (!r.moves.empty() || !r.recarves.empty()) out << "\n";
  if (!r.moves.empty()) PrintMoves(c, r.moves, out);
  if (!r.recarves.empty()) {
    out << "\nRe-carve:\n";
    Table t({"HOST", "GPU", "FROM", "TO"});
    for (const planner::Recarve& rc : r.recarves) {
      t.AddRow(
          {HostName(c, rc.host),
           c.hosts[static_cast<std::size_t>(rc.host)].gpus[static_cast<std::size_t>(rc.gpu)].id,
           rc.from ? rc.from->name : "unconfigured", rc.to->name});
    }
    t.Print(out);
  }
  out << "\n" << Wrap(StrCat(r.explanation, "."), 100, "") << "\n";
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
