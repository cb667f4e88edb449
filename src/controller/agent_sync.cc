#include "controller/agent_sync.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "common/json.h"
#include "common/pci_address.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/secrets.h"

namespace gpufleet::controller {
namespace {

constexpr int kMaxPlacement = 1023;
constexpr std::size_t kMaxGpuIdLength = 64;
constexpr std::size_t kMaxVmNameLength = 253;

absl::Status Invalid(std::string_view field, std::string_view why) {
  return WithField(absl::InvalidArgumentError(StrCat(field, ": ", why)), field);
}

absl::StatusOr<ReportedInstance> DecodeInstance(const nlohmann::json& j, const std::string& path,
                                                const core::Catalog& catalog) {
  if (!j.is_object()) return Invalid(path, "expected an object");
  JsonReader r(j, path);
  ReportedInstance out;
  const std::string uuid = r.String("uuid");
  out.gpu = r.String("gpu");
  const std::string type = r.String("type");
  out.placement = r.OptInt("placement", -1, kMaxPlacement).value_or(-1);
  out.vm = r.OptString("vm").value_or("");
  out.active = r.OptBool("active").value_or(false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  absl::StatusOr<Uuid> parsed = Uuid::Parse(uuid);
  if (!parsed.ok()) {
    return Invalid(r.PathOf("uuid"), StrCat("not a UUID (", QuoteForMessage(uuid, 40), ")"));
  }
  out.uuid = *parsed;
  if (out.gpu.empty() || out.gpu.size() > kMaxGpuIdLength) {
    return Invalid(r.PathOf("gpu"), "must be 1 to 64 characters");
  }
  if (absl::StatusOr<PciAddress> pci = PciAddress::Parse(out.gpu); pci.ok()) {
    out.gpu = pci->ToString();
  }
  absl::StatusOr<const core::VgpuType*> t = catalog.ResolveType(type);
  if (!t.ok()) return Invalid(r.PathOf("type"), ToStd(t.status().message()));
  out.type = (*t)->name;
  // The hypervisor's name of the VM, which need not be a gpufleet name: informational, bounded.
  if (out.vm.size() > kMaxVmNameLength || std::any_of(out.vm.begin(), out.vm.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return Invalid(r.PathOf("vm"), "must be at most 253 characters, without control characters");
  }
  return out;
}

// What a report changes, planned from one snapshot of the store.
struct PlannedEvent {
  std::string kind;
  std::string object;
  std::string message;
  nlohmann::json data;
};

struct SyncPlan {
  std::vector<store::ObservedInstance> create;
  std::vector<store::ObservedInstance> update;
  std::vector<store::ObservedInstance> remove;
  std::vector<store::Vm> vms;  // with their new phase
  // Copies a move's source still holds (store::LeftoverInstance): this host's, and those of a
  // host whose observed row this report takes over.
  std::vector<store::LeftoverInstance> leftover_create;
  std::vector<store::LeftoverInstance> leftover_remove;
  std::vector<PlannedEvent> events;
  int observed = 0;  // reported instances desired on this host
  std::vector<std::string> missing;
  std::vector<std::string> foreign;
  // VMs this report shows running on two hosts: a vGPU in use here whose UUID is observed in
  // use on another host too (after a move while one of the hosts was cut off).
  std::vector<DoubleRun> double_runs;

  [[nodiscard]] bool changes() const {
    return !create.empty() || !update.empty() || !remove.empty() || !vms.empty() ||
           !leftover_create.empty() || !leftover_remove.empty();
  }
};

bool SameObservation(const store::ObservedInstance& a, const store::ObservedInstance& b) {
  return a.host == b.host && a.gpu == b.gpu && a.type == b.type && a.vm == b.vm &&
         a.active == b.active;
}

std::string Describe(const store::ObservedInstance& o) {
  return StrCat(o.type, " ", o.uuid.ToString(), " on ", o.host, " gpu ", o.gpu);
}

nlohmann::json EventData(const store::ObservedInstance& o, const store::DesiredInstance* d) {
  nlohmann::json j = {
      {"uuid", o.uuid.ToString()}, {"host", o.host}, {"gpu", o.gpu}, {"type", o.type}, {"vm", o.vm},
      {"active", o.active}};
  if (d != nullptr) {
    j["vm"] = d->vm;
    j["index"] = d->index;
  }
  return j;
}

PlannedEvent DesiredEvent(std::string_view kind, std::string_view verb,
                          const store::ObservedInstance& o, const store::DesiredInstance& d) {
  return {std::string(kind), StrCat("vm/", d.vm),
          StrCat("vGPU ", d.index, " of vm ", d.vm, " (", Describe(o), ") ", verb),
          EventData(o, &d)};
}

// The phase a VM goes to when `all_observed` says whether each of its desired instances is
// observed where it is desired; only "placed" and "running" move.
std::string NextPhase(const std::string& phase, bool all_observed) {
  if (phase == "placed" && all_observed) return "running";
  if (phase == "running" && !all_observed) return "placed";
  return phase;
}

absl::StatusOr<SyncPlan> PlanSync(store::ReadTx& tx, const std::string& host,
                                  const InstancesReport& report, const core::Catalog& catalog,
                                  absl::Time now) {
  GPUFLEET_RETURN_IF_ERROR(tx.GetHost(host).status());
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(host));
  std::map<std::string, std::string, std::less<>> board_of;
  for (const store::Gpu& g : gpus) board_of[g.id] = g.board;
  for (std::size_t i = 0; i < report.instances.size(); ++i) {
    const ReportedInstance& r = report.instances[i];
    auto g = board_of.find(r.gpu);
    if (g == board_of.end()) {
      return Invalid(StrCat("instances[", i, "].gpu"),
                     StrCat("host ", host, " has no GPU ", QuoteForMessage(r.gpu)));
    }
    const core::VgpuType* t = catalog.FindTypeByName(r.type);
    if (t != nullptr && t->board_prefix != g->second) {
      return Invalid(StrCat("instances[", i, "].type"),
                     StrCat(r.type, " is not a type of board ", g->second, " (gpu ", r.gpu, ")"));
    }
  }
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> desired,
                            tx.ListDesiredInstances({.host = host, .gpu = "", .vm = ""}));
  std::map<Uuid, const store::DesiredInstance*> desired_by_uuid;
  for (const store::DesiredInstance& d : desired) desired_by_uuid[d.uuid] = &d;
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::ObservedInstance> before,
                            tx.ListObservedInstances(host));
  std::map<Uuid, const store::ObservedInstance*> before_by_uuid;
  for (const store::ObservedInstance& o : before) before_by_uuid[o.uuid] = &o;

  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LeftoverInstance> leftovers_before,
                            tx.ListLeftoverInstances(host));
  std::set<Uuid> leftover_before;
  for (const store::LeftoverInstance& l : leftovers_before) leftover_before.insert(l.uuid);

  SyncPlan plan;
  std::set<Uuid> reported;
  std::set<Uuid> leftover_here;  // reported here, observed and desired on another host
  // VMs desired elsewhere whose instance this report takes over: no longer where desired.
  std::set<std::string> displaced;
  for (const ReportedInstance& r : report.instances) {
    reported.insert(r.uuid);
    store::ObservedInstance row{.uuid = r.uuid,
                                .host = host,
                                .gpu = r.gpu,
                                .type = r.type,
                                .vm = r.vm,
                                .active = r.active,
                                .observed_at = now};
    auto prev = before_by_uuid.find(r.uuid);
    const bool first_seen = prev == before_by_uuid.end();
    if (!first_seen) {
      row.version = prev->second->version;
      if (!SameObservation(row, *prev->second)) plan.update.push_back(row);
    } else if (absl::StatusOr<store::ObservedInstance> elsewhere = tx.GetObservedInstance(r.uuid);
               elsewhere.ok()) {
      absl::StatusOr<store::DesiredInstance> d = tx.GetDesiredInstance(r.uuid);
      if (!d.ok() && !absl::IsNotFound(d.status())) return d.status();
      // Observed where it is desired: that observation stands, and this host's copy is foreign.
      // UUIDs derive from the VM, so after a move the source reports the same UUID while it
      // tears its copy down; taking the row over would hide the VM's vGPU on its new host.
      const bool desired_where_observed = d.ok() && d->host != host && elsewhere->host == d->host;
      if (d.ok() && r.active && elsewhere->active && elsewhere->host != host &&
          (d->host == host || d->host == elsewhere->host)) {
        plan.double_runs.push_back({.vm = d->vm,
                                    .uuid = r.uuid,
                                    .desired_on = d->host,
                                    .also_on = d->host == host ? elsewhere->host : host});
      }
      if (!desired_where_observed) {
        row.version = elsewhere->version;
        plan.update.push_back(row);
        if (d.ok() && d->host != host) displaced.insert(d->vm);
        // Moved here: the host it was observed on held a copy at its last report, and still
        // does until a report of its own says otherwise.
        if (d.ok() && d->host == host) {
          GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LeftoverInstance> known,
                                    tx.ListLeftoverInstances(elsewhere->host, r.uuid));
          if (known.empty()) {
            plan.leftover_create.push_back(
                {.host = elsewhere->host, .uuid = r.uuid, .vm = d->vm, .observed_at = now});
          }
        }
      } else {
        leftover_here.insert(r.uuid);
        if (!leftover_before.contains(r.uuid)) {
          plan.leftover_create.push_back(
              {.host = host, .uuid = r.uuid, .vm = d->vm, .observed_at = now});
        }
      }
    } else if (absl::IsNotFound(elsewhere.status())) {
      plan.create.push_back(row);
    } else {
      return elsewhere.status();
    }
    auto d = desired_by_uuid.find(r.uuid);
    if (d != desired_by_uuid.end()) {
      ++plan.observed;
      if (first_seen) {
        plan.events.push_back(DesiredEvent("instance.observed", "observed", row, *d->second));
      }
    } else {
      plan.foreign.push_back(r.uuid.ToString());
      if (first_seen) {
        plan.events.push_back(
            {"instance.foreign", StrCat("host/", host),
             StrCat("vGPU instance ", Describe(row), " is not desired on this host (foreign)"),
             EventData(row, nullptr)});
      }
    }
  }
  for (const store::LeftoverInstance& l : leftovers_before) {
    if (!leftover_here.contains(l.uuid)) plan.leftover_remove.push_back(l);
  }
  for (const store::ObservedInstance& o : before) {
    if (reported.contains(o.uuid)) continue;
    plan.remove.push_back(o);
    auto d = desired_by_uuid.find(o.uuid);
    if (d != desired_by_uuid.end()) {
      plan.events.push_back(DesiredEvent("instance.lost", "is gone", o, *d->second));
    }
  }

  // The planner puts every vGPU of a VM on one host, so the VM's instances on this host are all
  // of them.
  std::map<std::string, bool> all_observed;  // vm -> each of its desired instances reported
  for (const store::DesiredInstance& d : desired) {
    auto [it, added] = all_observed.try_emplace(d.vm, true);
    if (!reported.contains(d.uuid)) {
      it->second = false;
      plan.missing.push_back(d.uuid.ToString());
    }
  }
  for (const std::string& vm : displaced) all_observed[vm] = false;
  for (const auto& [name, observed] : all_observed) {
    absl::StatusOr<store::Vm> vm = tx.GetVm(name);
    if (absl::IsNotFound(vm.status())) continue;
    GPUFLEET_RETURN_IF_ERROR(vm.status());
    const std::string phase = NextPhase(vm->phase, observed);
    if (phase == vm->phase) continue;
    vm->phase = phase;
    plan.vms.push_back(*std::move(vm));
  }
  std::sort(plan.missing.begin(), plan.missing.end());
  std::sort(plan.foreign.begin(), plan.foreign.end());
  return plan;
}

absl::Status ApplySync(store::WriteTx& tx, SyncPlan& plan, const std::string& host,
                       std::string_view actor) {
  for (const store::ObservedInstance& o : plan.remove) {
    GPUFLEET_RETURN_IF_ERROR(tx.DeleteObservedInstance(o.uuid, o.version));
  }
  for (store::ObservedInstance& o : plan.update) {
    GPUFLEET_RETURN_IF_ERROR(tx.UpdateObservedInstance(o));
  }
  for (store::ObservedInstance& o : plan.create) {
    GPUFLEET_RETURN_IF_ERROR(tx.CreateObservedInstance(o));
  }
  for (store::Vm& vm : plan.vms) GPUFLEET_RETURN_IF_ERROR(tx.UpdateVm(vm));
  for (const store::LeftoverInstance& l : plan.leftover_remove) {
    GPUFLEET_RETURN_IF_ERROR(tx.DeleteLeftoverInstance(l.host, l.uuid, l.version));
  }
  for (store::LeftoverInstance& l : plan.leftover_create) {
    GPUFLEET_RETURN_IF_ERROR(tx.CreateLeftoverInstance(l));
  }
  std::map<std::string, int> per_kind;
  for (const PlannedEvent& e : plan.events) {
    if (++per_kind[e.kind] > AgentSync::kMaxEventsPerKind) continue;
    GPUFLEET_RETURN_IF_ERROR(AppendEvent(tx, e.kind, e.object, actor, e.message, e.data));
  }
  for (const auto& [kind, n] : per_kind) {
    if (n <= AgentSync::kMaxEventsPerKind) continue;
    const int rest = n - AgentSync::kMaxEventsPerKind;
    GPUFLEET_RETURN_IF_ERROR(AppendEvent(tx, kind, StrCat("host/", host), actor,
                                         StrCat("and ", rest, " more ", kind, " on ", host),
                                         nlohmann::json{{"more", rest}}));
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::json InstancesReport::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const ReportedInstance& i : instances) {
    list.push_back({{"uuid", i.uuid.ToString()},
                    {"gpu", i.gpu},
                    {"type", i.type},
                    {"placement", i.placement},
                    {"vm", i.vm},
                    {"active", i.active}});
  }
  nlohmann::json out = {{"instances", list}};
  if (!migrations.empty()) out["migrations"] = MigrationReportsJson(migrations);
  if (!creatable.empty()) out["creatable"] = CreatableJson(creatable);
  if (!errors.empty()) {
    nlohmann::json problems = nlohmann::json::array();
    for (const AgentErrorReport& e : errors) {
      problems.push_back({{"message", e.message}, {"count", e.count}});
    }
    out["errors"] = std::move(problems);
  }
  return out;
}

absl::StatusOr<InstancesReport> DecodeInstancesReport(const nlohmann::json& body,
                                                      const core::Catalog& catalog) {
  if (!body.is_object()) return Invalid("body", "expected a JSON object");
  JsonReader r(body, "");
  const nlohmann::json* list = r.Array("instances");
  const nlohmann::json* migrations = r.Array("migrations", /*required=*/false);
  const nlohmann::json* creatable = r.Array("creatable", /*required=*/false);
  const nlohmann::json* errors = r.Array("errors", /*required=*/false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  if (list->size() > kMaxReportedInstances) {
    return Invalid("instances", StrCat("more than ", kMaxReportedInstances, " instances"));
  }
  InstancesReport report;
  std::set<Uuid> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = StrCat("instances[", i, "]");
    GPUFLEET_ASSIGN_OR_RETURN(ReportedInstance instance, DecodeInstance((*list)[i], path, catalog));
    if (!seen.insert(instance.uuid).second) {
      return Invalid(StrCat(path, ".uuid"),
                     StrCat("instance ", instance.uuid.ToString(), " is listed twice"));
    }
    report.instances.push_back(std::move(instance));
  }
  GPUFLEET_ASSIGN_OR_RETURN(report.migrations, DecodeMigrationReports(migrations));
  if (creatable != nullptr) {
    GPUFLEET_ASSIGN_OR_RETURN(report.creatable, DecodeCreatable(*creatable, catalog));
  }
  if (errors != nullptr) {
    GPUFLEET_ASSIGN_OR_RETURN(report.errors, DecodeAgentErrors(*errors));
  }
  return report;
}

DesiredState MakeDesiredState(const std::string& host,
                              std::vector<store::DesiredInstance> instances,
                              nlohmann::json departures, nlohmann::json holds) {
  std::sort(instances.begin(), instances.end(),
            [](const store::DesiredInstance& a, const store::DesiredInstance& b) {
              return a.uuid < b.uuid;
            });
  DesiredState out{.host = host,
                   .generation = "",
                   .instances = nlohmann::json::array(),
                   .departures = std::move(departures),
                   .holds = std::move(holds)};
  for (const store::DesiredInstance& d : instances) {
    out.instances.push_back({{"uuid", d.uuid.ToString()},
                             {"vm", d.vm},
                             {"index", d.index},
                             {"gpu", d.gpu},
                             {"type", d.type},
                             {"placement", d.placement}});
  }
  nlohmann::json canonical = {{"host", host}, {"instances", out.instances}};
  // Only when there are some: documents without departures keep the generation they had before
  // live migrations existed.
  if (!out.departures.empty()) canonical["departures"] = out.departures;
  if (!out.holds.empty()) canonical["holds"] = out.holds;
  out.generation = Sha256Hex(canonical.dump()).substr(0, 32);
  return out;
}

bool IfNoneMatchHits(const api::Request& request, std::string_view etag) {
  std::optional<std::string_view> header = request.Header("If-None-Match");
  if (!header.has_value()) return false;
  for (std::string_view tag : StrSplit(*header, ',')) {
    tag = StripAsciiWhitespace(tag);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

absl::Status AgentSync::AddRoutes(api::Router& router) {
  using api::Access;
  using api::Role;
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/hosts/{host}/desired",
                                      Access::AgentOwnHost("host").Or(Role::kViewer),
                                      [this](const api::Request& r) { return GetDesired(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/hosts/{host}/instances",
                                      Access::AgentOwnHost("host").Or(Role::kViewer),
                                      [this](const api::Request& r) { return GetInstances(r); }));
  return router.Add("PUT", "/api/v1/hosts/{host}/instances",
                    Access::AgentOwnHost("host").Or(Role::kAdmin),
                    [this](const api::Request& r) { return PutInstances(r); });
}

api::Response AgentSync::GetDesired(const api::Request& request) {
  const std::string host(request.PathParam("host"));
  std::vector<store::DesiredInstance> instances;
  nlohmann::json departures, holds;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_RETURN_IF_ERROR(tx.GetHost(host).status());
    GPUFLEET_ASSIGN_OR_RETURN(instances,
                              tx.ListDesiredInstances({.host = host, .gpu = "", .vm = ""}));
    GPUFLEET_ASSIGN_OR_RETURN(departures, Departures(tx, host));
    GPUFLEET_ASSIGN_OR_RETURN(holds, StartHolds(tx, host, instances));
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  DesiredState desired =
      MakeDesiredState(host, std::move(instances), std::move(departures), std::move(holds));
  std::string etag = StrCat("\"", desired.generation, "\"");
  if (IfNoneMatchHits(request, etag)) {
    api::Response not_modified;
    not_modified.status = 304;
    return not_modified.SetHeader("ETag", std::move(etag));
  }
  return api::Response::Json({{"host", host},
                              {"generation", desired.generation},
                              {"instances", desired.instances},
                              {"departures", desired.departures},
                              {"holds", desired.holds}})
      .SetHeader("ETag", std::move(etag));
}

api::Response AgentSync::GetInstances(const api::Request& request) {
  const std::string host(request.PathParam("host"));
  std::vector<store::ObservedInstance> observed;
  std::vector<store::DesiredInstance> desired;
  std::vector<store::LeftoverInstance> leftovers;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_RETURN_IF_ERROR(tx.GetHost(host).status());
    GPUFLEET_ASSIGN_OR_RETURN(observed, tx.ListObservedInstances(host));
    GPUFLEET_ASSIGN_OR_RETURN(leftovers, tx.ListLeftoverInstances(host));
    GPUFLEET_ASSIGN_OR_RETURN(desired,
                              tx.ListDesiredInstances({.host = host, .gpu = "", .vm = ""}));
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  std::map<Uuid, const store::DesiredInstance*> desired_here;
  for (const store::DesiredInstance& d : desired) desired_here[d.uuid] = &d;
  std::sort(observed.begin(), observed.end(),
            [](const auto& a, const auto& b) { return a.uuid < b.uuid; });
  nlohmann::json items = nlohmann::json::array();
  std::set<Uuid> reported;
  for (const store::ObservedInstance& o : observed) {
    reported.insert(o.uuid);
    auto d = desired_here.find(o.uuid);
    const bool wanted = d != desired_here.end() && d->second->gpu == o.gpu;
    items.push_back({{"uuid", o.uuid.ToString()},
                     {"gpu", o.gpu},
                     {"type", o.type},
                     {"vm", o.vm},
                     {"active", o.active},
                     {"observed_at", TimeText(o.observed_at)},
                     {"state", wanted ? "desired" : "foreign"}});
  }
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& [uuid, d] : desired_here) {
    if (reported.contains(uuid)) continue;
    missing.push_back(
        {{"uuid", uuid.ToString()}, {"vm", d->vm}, {"gpu", d->gpu}, {"type", d->type}});
  }
  // Copies of VMs that moved away, still reported here (the agent has yet to tear them down).
  nlohmann::json left = nlohmann::json::array();
  for (const store::LeftoverInstance& l : leftovers) {
    left.push_back({{"uuid", l.uuid.ToString()}, {"vm", l.vm}, {"since", TimeText(l.observed_at)}});
  }
  return api::Response::Json(
      {{"host", host},
       {"items", items},
       {"missing", missing},
       {"leftovers", left},
       {"creatable", CreatableJson(creatable_.Get(host))},
       {"errors", AgentErrorsJson(errors_.Get(host, context_.clock->Now()))}});
}

api::Response AgentSync::PutInstances(const api::Request& request) {
  const std::string host(request.PathParam("host"));
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<InstancesReport> report = DecodeInstancesReport(*body, *context_.catalog);
  if (!report.ok()) return api::Response::Error(report.status());
  const std::string actor = ActorOf(request);
  const absl::Time now = context_.clock->Now();
  SyncPlan plan;
  // Most reports change nothing: plan from a snapshot, and write only when there is a change
  // (planned again inside the write, which sees the latest rows).
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(plan, PlanSync(tx, host, *report, *context_.catalog, now));
    if (report->creatable.empty()) return absl::OkStatus();
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(host));
    std::map<std::string, std::string, std::less<>> board_of;
    for (const store::Gpu& g : gpus) board_of[g.id] = g.board;
    return CheckCreatable(report->creatable, host, board_of, *context_.catalog);
  });
  int migrations = 0;
  if (s.ok() && (plan.changes() || !report->migrations.empty())) {
    s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(plan, PlanSync(tx, host, *report, *context_.catalog, now));
      GPUFLEET_RETURN_IF_ERROR(ApplySync(tx, plan, host, actor));
      GPUFLEET_ASSIGN_OR_RETURN(migrations,
                                ApplyMigrationReports(tx, host, report->migrations, actor));
      return absl::OkStatus();
    });
    if (s.ok() && (plan.changes() || migrations > 0) && on_observed_change_) {
      on_observed_change_();
    }
  }
  if (!s.ok()) return api::Response::Error(s);
  // A VM running on two hosts is an event at once (again only after kDoubleRunRealert).
  std::vector<DoubleRun> alerts;
  for (const DoubleRun& d : plan.double_runs) {
    if (double_runs_.ShouldAlert(d.vm, now)) alerts.push_back(d);
  }
  if (!alerts.empty()) {
    s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      for (const DoubleRun& d : alerts) {
        GPUFLEET_RETURN_IF_ERROR(AppendEvent(
            tx, "vm.running-twice", StrCat("vm/", d.vm), actor,
            StrCat("vm ", d.vm, " runs on ", d.desired_on, " and on ", d.also_on,
                   ": both copies may write its disks; it is desired on ", d.desired_on,
                   ", and the agent of ", d.also_on,
                   " stops its copy when it next reconciles; power that copy off now if it "
                   "does not"),
            {{"desired_on", d.desired_on}, {"also_on", d.also_on}, {"uuid", d.uuid.ToString()}}));
      }
      return absl::OkStatus();
    });
    if (!s.ok()) {
      for (const DoubleRun& d : alerts) double_runs_.Forget(d.vm);  // the next report tries again
      return api::Response::Error(s);
    }
  }
  // A problem the host has not reported within the hour becomes an event; then it is kept.
  const std::vector<AgentErrorReport> fresh = errors_.Add(host, report->errors, now);
  if (!fresh.empty()) {
    s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      for (const AgentErrorReport& e : fresh) {
        GPUFLEET_RETURN_IF_ERROR(AppendEvent(
            tx, "agent.error", StrCat("host/", host), actor,
            StrCat("the agent of ", host, " reports: ", e.message,
                   e.count > 1 ? StrCat(" (", e.count, " times since its last report)") : ""),
            {{"count", e.count}}));
      }
      return absl::OkStatus();
    });
    if (!s.ok()) {
      errors_.Withdraw(host, report->errors, fresh);  // the agent sends them again
      return api::Response::Error(s);
    }
  }
  creatable_.Set(host, std::move(report->creatable));
  return api::Response::Json({{"host", host},
                              {"observed", plan.observed},
                              {"missing", plan.missing},
                              {"foreign", plan.foreign},
                              {"migrations", static_cast<int>(report->migrations.size())}});
}

}  // namespace gpufleet::controller
