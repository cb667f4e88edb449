#include "cli/plan_command.h"

#include <vector>

#include "absl/status/status.h"
#include "common/strings.h"
#include "planner/cluster_yaml.h"
#include "planner/plan_json.h"
#include "planner/planner.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;
using planner::GpuMode;

absl::StatusOr<planner::Policy> ParsePolicy(std::string_view text) {
  if (std::optional<planner::Policy> p = planner::PolicyFromName(text)) return *p;
  return absl::InvalidArgumentError(StrCat("--policy ", QuoteForMessage(text),
                                           ": expected fragmentation, spread or consolidate"));
}

absl::StatusOr<std::string> ReadInput(const Context& ctx, std::string_view flag,
                                      const std::string& path) {
  if (ctx.fs == nullptr) return absl::InternalError("no file system in the CLI context");
  absl::StatusOr<std::string> text = ctx.fs->ReadFile(path, kMaxPlanFileBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(), StrCat(flag, ": ", ToStd(text.status().message())));
  }
  return text;
}

const planner::Vm& VmAt(const planner::Cluster& c, int vm) {
  return c.vms[static_cast<std::size_t>(vm)];
}

// "used/max" as the GPU's mode counts it: instances of the carved type, the whole GPU for
// passthrough, a plain count where sizes differ (mixed-size, MIG).
std::string UsedText(const planner::Gpu& g) {
  switch (g.mode) {
    case GpuMode::kEqualSize:
      if (g.carved == nullptr) return StrCat(g.instances.size());
      return StrCat(g.instances.size(), "/", g.carved->max_instances);
    case GpuMode::kPassthrough:
      return g.passthrough_vm >= 0 ? "1/1" : "0/1";
    case GpuMode::kUnconfigured:
    case GpuMode::kMixedSize:
    case GpuMode::kMig:
      break;
  }
  return StrCat(g.instances.size());
}

std::vector<std::string> VmsOn(const planner::Cluster& c, const planner::Gpu& g) {
  std::vector<std::string> names;
  if (g.passthrough_vm >= 0) names.push_back(VmAt(c, g.passthrough_vm).name);
  for (const planner::Instance& i : g.instances) names.push_back(VmAt(c, i.vm).name);
  return names;
}

json ResultJson(const PlanCommandOptions& o, planner::Policy policy, const planner::PlanResult& r) {
  json doc = {{"cluster", o.cluster},
              {"demand", o.demand ? json(*o.demand) : json(nullptr)},
              {"policy", planner::PolicyName(policy)},
              {"from_scratch", o.from_scratch}};
  doc.update(planner::PlanResultJson(r));
  return doc;
}

void PrintTable(const json& doc, const planner::PlanResult& r, std::ostream& out) {
  const planner::Cluster& c = r.cluster;
  const json& sum = doc["summary"];
  out << "Plan for " << (doc["demand"].is_null() ? "no demand" : doc["demand"].get<std::string>())
      << " on " << doc["cluster"].get<std::string>() << " (policy "
      << doc["policy"].get<std::string>()
      << (doc["from_scratch"].get<bool>() ? ", from scratch" : "") << ")\n\n";

  Table gpus({"HOST", "STATE", "GPU", "BOARD", "MODE", "CARVED", "USED", "FRAMEBUFFER", "VMS"});
  for (const planner::Host& h : c.hosts) {
    bool first = true;
    for (const planner::Gpu& g : h.gpus) {
      std::vector<std::string> vms = VmsOn(c, g);
      gpus.AddRow({first ? h.name : "", first ? std::string(planner::HostStateName(h.state)) : "",
                   g.id, g.board->prefix, std::string(planner::GpuModeName(g.mode)),
                   g.carved != nullptr ? g.carved->name : "-", UsedText(g),
                   StrCat(FormatMib(planner::UsedFramebufferMib(g)), " / ",
                          FormatMib(g.board->framebuffer_mib)),
                   vms.empty() ? "-" : StrJoin(vms, ", ")});
      first = false;
    }
    if (h.gpus.empty()) {
      gpus.AddRow({h.name, std::string(planner::HostStateName(h.state)), "-", "-", "-", "-", "-",
                   "-", "-"});
    }
  }
  gpus.Print(out);

  out << "\nPlaced " << sum["placed"].get<int>() << " of " << sum["vms"].get<int>()
      << " VMs. GPUs in use: " << r.gpus_used << " of " << sum["gpus"].get<int>()
      << "; hosts in use: " << r.hosts_used << " of " << c.hosts.size() << ".\n";

  if (!r.rejected.empty()) {
    out << "\nRejected (" << r.rejected.size() << "):\n";
    Table t({"VM", "REASON"});
    for (const json& x : doc["rejected"]) t.AddRow({x["vm"], x["reason"]});
    t.Print(out);
  }

  if (!r.bounds.empty()) {
    out << "\nLower bound: the fewest GPUs any plan needs for these VMs (equal-size: the sum over\n"
           "types of ceil(VMs / instances per GPU), one type per GPU), counting rejected VMs too;\n"
           "gap = used - bound.\n";
    Table t({"BOARD", "BOUND", "USED", "GAP"});
    for (const json& b : doc["bounds"]) {
      const int gap = b["gap"].get<int>();
      // A negative gap means the demand needs more GPUs of the board than the plan could use:
      // the cluster is short, which is what the operator must read.
      t.AddRow({b["board"], StrCat(b["gpus_needed"].get<int>()), StrCat(b["gpus_used"].get<int>()),
                gap >= 0 ? StrCat(gap) : StrCat("short of ", -gap, " GPU", gap == -1 ? "" : "s")});
    }
    t.Print(out);
  }

  if (!r.stranded.empty()) {
    out << "\nStranded: framebuffer of a carved GPU that only its own type can use (free\n"
           "instances) or that no instance can use; other types cannot have it until it is "
           "empty.\n";
    Table t({"HOST", "GPU", "CARVED", "FREE", "STRANDED"});
    for (const json& s : doc["stranded"]) {
      t.AddRow({s["host"], s["gpu"], s["carved"].is_null() ? "-" : s["carved"].get<std::string>(),
                StrCat(s["free_instances"].get<int>()), FormatMib(s["stranded_mib"].get<int>())});
    }
    t.Print(out);
  }

  if (!r.free_by_type.empty()) {
    out << "\nFree instances per carved type:\n";
    Table t({"TYPE", "FREE"});
    for (const auto& [type, n] : r.free_by_type) t.AddRow({type, StrCat(n)});
    t.Print(out);
  }
}

}  // namespace

absl::StatusOr<planner::Cluster> LoadClusterFile(const Context& ctx, const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "--cluster: required (the cluster file, see docs/planning.md)");
  }
  absl::StatusOr<std::string> text = ReadInput(ctx, "--cluster", path);
  if (!text.ok()) return text.status();
  absl::StatusOr<planner::Cluster> cluster = planner::ParseClusterYaml(*text, path, *ctx.catalog);
  if (!cluster.ok()) return cluster.status();
  // The file may describe a state that each GPU allows but the cluster does not (more seats
  // used than held, anti-affinity broken, MIG slices overlapping): planning on it would mislead.
  if (std::vector<std::string> broken = planner::Violations(*cluster); !broken.empty()) {
    return absl::InvalidArgumentError(
        StrCat(path, ": the current state breaks a planner rule: ", broken.front(),
               broken.size() > 1 ? StrCat(" (and ", broken.size() - 1, " more)") : ""));
  }
  return cluster;
}

absl::StatusOr<planner::Policy> ParsePolicyFlag(std::string_view text) { return ParsePolicy(text); }

absl::Status RunPlan(Context& ctx, const PlanCommandOptions& o, std::ostream& out) {
  if (o.cluster.empty()) {
    return absl::InvalidArgumentError(
        "--cluster: required (the cluster file, see docs/planning.md)");
  }
  absl::StatusOr<planner::Policy> policy = ParsePolicy(o.policy);
  if (!policy.ok()) return policy.status();

  absl::StatusOr<planner::Cluster> cluster = LoadClusterFile(ctx, o.cluster);
  if (!cluster.ok()) return cluster.status();
  std::vector<int> demand;
  if (o.demand) {
    absl::StatusOr<std::string> demand_text = ReadInput(ctx, "--demand", *o.demand);
    if (!demand_text.ok()) return demand_text.status();
    absl::StatusOr<std::vector<int>> added =
        planner::AppendDemandYaml(*demand_text, *o.demand, *ctx.catalog, *cluster);
    if (!added.ok()) return added.status();
    demand = *std::move(added);
  }

  planner::PlanOptions options;
  options.place.policy = *policy;
  options.from_scratch = o.from_scratch;
  const planner::PlanResult result = planner::Plan(*std::move(cluster), demand, options);
  if (std::vector<std::string> broken = planner::Violations(result.cluster); !broken.empty()) {
    return absl::InternalError(
        StrCat("the plan breaks a planner rule (a bug; please report it): ", broken.front()));
  }
  ctx.exit_code = result.rejected.empty() ? 0 : 1;
  const json doc = ResultJson(o, *policy, result);
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  PrintTable(doc, result, out);
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
