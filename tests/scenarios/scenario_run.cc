// Runs one scenario: decodes its cluster and demand with the planner's own decoders, runs the
// operation twice (the answers must be identical), compares the answer with the expectations and
// checks the invariants every answer must meet.

#include "scenario_run.h"

#include <algorithm>
#include <set>
#include <type_traits>

#include "common/strings.h"
#include "planner/cluster_yaml.h"

namespace gpufleet::planner::scenario {
namespace {

constexpr std::string_view kPassThrough = "pass-through";

std::string TypeName(const core::VgpuType* t) {
  return t != nullptr ? t->name : std::string(kPassThrough);
}

template <typename V>
std::string MapText(const std::map<std::string, V>& m) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : m) {
    if constexpr (std::is_same_v<V, std::map<std::string, int>>) {
      parts.push_back(StrCat(k, ": ", MapText(v)));
    } else {
      parts.push_back(StrCat(k, ": ", v));
    }
  }
  return StrCat("{", StrJoin(parts, ", "), "}");
}

// Names of a cluster's VMs, hosts and GPUs, both ways.
class Names {
 public:
  explicit Names(const Cluster& c) : c_(c) {}
  [[nodiscard]] int Vm(std::string_view name) const {
    for (std::size_t i = 0; i < c_.vms.size(); ++i) {
      if (c_.vms[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }
  [[nodiscard]] int Host(std::string_view name) const {
    for (std::size_t i = 0; i < c_.hosts.size(); ++i) {
      if (c_.hosts[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }
  [[nodiscard]] const std::string& VmName(int vm) const {
    return c_.vms[static_cast<std::size_t>(vm)].name;
  }
  [[nodiscard]] const std::string& HostName(int host) const {
    return c_.hosts[static_cast<std::size_t>(host)].name;
  }
  // "gpu0" or, for several vGPUs, "gpu0,gpu1" in GPU order.
  [[nodiscard]] std::string Gpus(int host, std::vector<int> gpus) const {
    std::sort(gpus.begin(), gpus.end());
    std::vector<std::string> ids;
    for (int g : gpus) {
      ids.push_back(c_.hosts[static_cast<std::size_t>(host)].gpus[static_cast<std::size_t>(g)].id);
    }
    return StrJoin(ids, ",");
  }
  [[nodiscard]] std::string Describe(const Assignment& a) const {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < a.gpus.size(); ++i) {
      const Gpu& gpu =
          c_.hosts[static_cast<std::size_t>(a.host)].gpus[static_cast<std::size_t>(a.gpus[i])];
      parts.push_back(StrCat(gpu.id, " ", TypeName(a.types[i]), " ", GpuModeName(a.fits[i].mode),
                             a.fits[i].placement >= 0 ? StrCat("@", a.fits[i].placement) : ""));
    }
    return StrCat(VmName(a.vm), " -> ", HostName(a.host), " [", StrJoin(parts, ", "), "]");
  }

 private:
  const Cluster& c_;
};

class Checker {
 public:
  explicit Checker(Outcome& out) : out_(out) {}

  void Fail(std::string what) { out_.failures.push_back(std::move(what)); }
  void Error(std::string what) { out_.errors.push_back(std::move(what)); }

  void Eq(std::string_view what, const std::string& got, const std::string& want) {
    if (got != want) Fail(StrCat(what, ": expected ", want, ", got ", got));
  }
  void Eq(std::string_view what, int got, int want) {
    Eq(what, std::to_string(got), std::to_string(want));
  }
  void Contains(std::string_view what, const std::string& text,
                const std::vector<std::string>& pieces) {
    for (const std::string& p : pieces) {
      if (text.find(p) == std::string::npos) {
        Fail(StrCat(what, ": expected it to contain \"", p, "\", got \"", text, "\""));
      }
    }
  }
  // The VMs with reasons must be exactly those expected, each reason holding its pieces.
  void Reasons(std::string_view what, const std::map<std::string, std::string>& got,
               const std::vector<ExpectedReason>& want) {
    std::set<std::string> expected;
    for (const ExpectedReason& e : want) {
      expected.insert(e.vm);
      auto it = got.find(e.vm);
      if (it == got.end()) {
        Fail(StrCat(what, ": expected ", e.vm, " among them, but it is not"));
        continue;
      }
      Contains(StrCat(what, " ", e.vm), it->second, e.contains);
    }
    for (const auto& [vm, reason] : got) {
      if (!expected.contains(vm)) Fail(StrCat(what, ": unexpected ", vm, " (", reason, ")"));
    }
  }
  void NoViolations(std::string_view what, const Cluster& c) {
    for (const std::string& v : Violations(c)) Fail(StrCat(what, " breaks a planner rule: ", v));
  }
  void Deterministic(const std::string& first, const std::string& second) {
    if (first != second) {
      Fail(StrCat("two runs on the same input differ:\n", first, "\n---\n", second));
    }
  }

 private:
  Outcome& out_;
};

// `to: {vm: host}` of evacuate and defrag.
void CheckDestinations(Checker& check, const Names& n, const std::vector<Move>& moves,
                       const std::map<std::string, std::string>& want) {
  std::map<std::string, std::string> to;
  for (const Move& m : moves) to[n.VmName(m.vm)] = n.HostName(m.to.host);
  for (const auto& [vm, dest] : want) {
    auto it = to.find(vm);
    check.Eq(StrCat("to ", vm), it == to.end() ? "(not moved)" : it->second, dest);
  }
}

std::string RenderPlace(const Names& n, const Decision& d) {
  return d.assignment ? StrCat(n.Describe(*d.assignment), "\n", d.explanation) : d.explanation;
}

void RunPlace(const Scenario& s, const Cluster& c, Checker& check, Outcome& out) {
  const Names n(c);
  const int vm = n.Vm(s.vm);
  if (vm < 0) return check.Error(StrCat("vm: ", s.vm, " is not a VM of the cluster"));
  if (Locate(c).contains(vm)) return check.Error(StrCat("vm: ", s.vm, " is placed already"));
  const Decision d = Place(c, vm, s.place);
  out.summary = RenderPlace(n, d);
  check.Deterministic(out.summary, RenderPlace(n, Place(c, vm, s.place)));
  const Expectations& x = s.expect;
  if (!d.assignment) {
    if (x.rejected_reason.empty()) check.Fail(StrCat("expected a placement, got: ", d.explanation));
    check.Contains("rejection", d.explanation, x.rejected_reason);
    return;
  }
  if (!x.rejected_reason.empty()) {
    return check.Fail(StrCat("expected a rejection, got: ", d.explanation));
  }
  const Assignment& a = *d.assignment;
  if (x.host) check.Eq("host", n.HostName(a.host), *x.host);
  if (x.gpus) {
    std::vector<std::string> want = *x.gpus;
    std::sort(want.begin(), want.end());
    check.Eq("gpus", n.Gpus(a.host, a.gpus), StrJoin(want, ","));
  }
  for (std::size_t i = 0; i < a.gpus.size(); ++i) {
    if (x.type) check.Eq("type", TypeName(a.types[i]), *x.type);
    if (x.mode) check.Eq("mode", std::string(GpuModeName(a.fits[i].mode)), *x.mode);
  }
  if (x.placement) check.Eq("placement", a.fits.front().placement, *x.placement);
  if (c.hosts[static_cast<std::size_t>(a.host)].state != HostState::kReady) {
    check.Fail("placed on a host that is not ready");
  }
  Cluster after = c;
  Apply(after, a);
  check.NoViolations("the cluster after the placement", after);
}

std::string RenderPlan(const Names& n, const PlanResult& r) {
  std::string s;
  for (const Assignment& a : r.placed) StrAppend(&s, n.Describe(a), "\n");
  for (const Rejection& x : r.rejected) StrAppend(&s, "rejected ", x.reason, "\n");
  for (const BoardBound& b : r.bounds) {
    StrAppend(&s, "bound ", b.board, ": needed ", b.gpus_needed, ", used ", b.gpus_used, "\n");
  }
  StrAppend(&s, "gpus_used ", r.gpus_used, ", hosts_used ", r.hosts_used, ", free_by_type ",
            MapText(r.free_by_type));
  for (const Stranded& st : r.stranded) {
    StrAppend(&s, "\nstranded ", n.HostName(st.host), "/", n.Gpus(st.host, {st.gpu}), ": ",
              st.free_instances, " free, ", st.stranded_mib, " MiB");
  }
  return s;
}

void RunPlan(const Scenario& s, const Cluster& c, const std::vector<int>& demand, Checker& check,
             Outcome& out) {
  PlanOptions options;
  options.place = s.place;
  options.from_scratch = s.from_scratch;
  const PlanResult r = Plan(c, demand, options);
  const Names n(r.cluster);
  out.summary = RenderPlan(n, r);
  check.Deterministic(out.summary, RenderPlan(n, Plan(c, demand, options)));
  check.NoViolations("the plan", r.cluster);
  const Expectations& x = s.expect;
  if (x.placed) check.Eq("placed", static_cast<int>(r.placed.size()), *x.placed);
  std::map<std::string, std::string> rejected;
  for (const Rejection& j : r.rejected) rejected[n.VmName(j.vm)] = j.reason;
  check.Reasons("rejected", rejected, x.rejected);
  if (x.gpus_used) check.Eq("gpus_used", r.gpus_used, *x.gpus_used);
  if (x.hosts_used) check.Eq("hosts_used", r.hosts_used, *x.hosts_used);
  // The reported bound counts rejected VMs too, so a plan that rejects VMs may use fewer GPUs
  // (a negative gap: short of GPUs); what it placed never beats the bound of the placed VMs.
  std::map<std::string, int> bound, used;
  int gap = 0;
  for (const BoardBound& b : r.bounds) {
    bound[b.board] = b.gpus_needed;
    used[b.board] = b.gpus_used;
    gap += b.gpus_used - b.gpus_needed;
  }
  std::vector<int> placed_vms;
  for (const Assignment& a : r.placed) placed_vms.push_back(a.vm);
  for (const auto& [vm, loc] : Locate(r.cluster)) placed_vms.push_back(vm);
  std::sort(placed_vms.begin(), placed_vms.end());
  placed_vms.erase(std::unique(placed_vms.begin(), placed_vms.end()), placed_vms.end());
  for (const BoardBound& b : LowerBounds(r.cluster, placed_vms)) {
    if (used[b.board] < b.gpus_needed) {
      check.Fail(StrCat("the plan uses ", used[b.board], " ", b.board,
                        " GPUs, below the lower bound of the VMs it placed, ", b.gpus_needed));
    }
  }
  if (x.bound) check.Eq("bound", MapText(bound), MapText(*x.bound));
  if (x.gap) check.Eq("gap", gap, *x.gap);
  if (x.free_by_type) check.Eq("free_by_type", MapText(r.free_by_type), MapText(*x.free_by_type));
  if (x.stranded_mib) {
    int total = 0;
    for (const Stranded& st : r.stranded) total += st.stranded_mib;
    check.Eq("stranded_mib", total, *x.stranded_mib);
  }
  const std::map<int, Location> where = Locate(r.cluster);
  std::map<std::string, const Assignment*> placed;
  for (const Assignment& a : r.placed) placed[n.VmName(a.vm)] = &a;
  auto vm_of = [&](const std::string& name) {
    const int vm = n.Vm(name);
    if (vm < 0) check.Error(StrCat("expect: ", name, " is not a VM of the cluster or demand"));
    return vm;
  };
  for (const auto& [name, host] : x.on_host) {
    const int vm = vm_of(name);
    auto it = where.find(vm);
    check.Eq(StrCat("on_host ", name),
             it == where.end() ? "(nowhere)" : n.HostName(it->second.host), host);
  }
  for (const auto& [name, gpus] : x.on_gpu) {
    const int vm = vm_of(name);
    auto it = where.find(vm);
    check.Eq(StrCat("on_gpu ", name),
             it == where.end() ? "(nowhere)" : n.Gpus(it->second.host, it->second.gpus), gpus);
  }
  for (const auto& [name, type] : x.type_of) {
    vm_of(name);
    auto it = placed.find(name);
    check.Eq(StrCat("type_of ", name),
             it == placed.end() ? "(not placed)" : TypeName(it->second->types.front()), type);
  }
  for (const auto& [name, placement] : x.placements) {
    vm_of(name);
    auto it = placed.find(name);
    check.Eq(StrCat("placements ", name),
             it == placed.end() ? -1 : it->second->fits.front().placement, placement);
  }
}

std::string RenderEvacuation(const Names& n, const EvacuationResult& r) {
  std::string s;
  for (const Move& m : r.moves) StrAppend(&s, "move ", n.Describe(m.to), "\n");
  for (const Stuck& st : r.stuck) StrAppend(&s, "stuck ", n.VmName(st.vm), ": ", st.reason, "\n");
  return s;
}

void RunEvacuate(const Scenario& s, const Cluster& c, Checker& check, Outcome& out) {
  const Names n(c);
  const int host = n.Host(s.host);
  if (host < 0) return check.Error(StrCat("host: ", s.host, " is not a host of the cluster"));
  EvacuateOptions options;
  options.place = s.place;
  options.stun_budget_seconds = s.stun_budget_seconds;
  const EvacuationResult r = Evacuate(c, host, options);
  out.summary = RenderEvacuation(n, r);
  check.Deterministic(out.summary, RenderEvacuation(n, Evacuate(c, host, options)));
  check.NoViolations("the cluster after the evacuation", r.cluster);
  const Expectations& x = s.expect;
  if (x.moves) check.Eq("moves", static_cast<int>(r.moves.size()), *x.moves);
  std::map<std::string, std::string> stuck;
  for (const Stuck& st : r.stuck) stuck[n.VmName(st.vm)] = st.reason;
  check.Reasons("stuck", stuck, x.stuck);
  CheckDestinations(check, n, r.moves, x.to);
  // Every VM of the host moves or is stuck; moved VMs keep their types on a ready host; the host
  // keeps only the stuck VMs.
  const std::map<int, Location> before = Locate(c), after = Locate(r.cluster);
  std::set<int> on_host;
  for (const auto& [vm, loc] : before) {
    if (loc.host == host) on_host.insert(vm);
  }
  std::set<int> accounted;
  for (const Move& m : r.moves) accounted.insert(m.vm);
  for (const Stuck& st : r.stuck) accounted.insert(st.vm);
  if (accounted != on_host) check.Fail("moves and stuck VMs are not exactly the host's VMs");
  for (const Move& m : r.moves) {
    auto it = after.find(m.vm);
    if (it == after.end() || it->second.host == host ||
        c.hosts[static_cast<std::size_t>(it->second.host)].state != HostState::kReady) {
      check.Fail(StrCat(n.VmName(m.vm), " did not move to another ready host"));
    }
    auto from = before.find(m.vm);
    const Gpu& old_gpu = c.hosts[static_cast<std::size_t>(host)]
                             .gpus[static_cast<std::size_t>(from->second.gpus.front())];
    const core::VgpuType* old_type = nullptr;
    for (const Instance& i : old_gpu.instances) {
      if (i.vm == m.vm) old_type = i.type;
    }
    for (const core::VgpuType* t : m.to.types) {
      if (t != old_type) check.Fail(StrCat(n.VmName(m.vm), " changed its vGPU type"));
    }
  }
  for (const Stuck& st : r.stuck) {
    auto it = after.find(st.vm);
    if (it == after.end() || it->second.host != host) {
      check.Fail(StrCat(n.VmName(st.vm), " is stuck but no longer on ", s.host));
    }
  }
}

std::string RenderHa(const Names& n, const HaResult& r) {
  std::string s = StrCat("n_plus_one ", r.n_plus_one ? "true" : "false", "\n");
  for (const HostFailure& f : r.failures) {
    StrAppend(&s, "failure of ", n.HostName(f.host), " (", f.vms, " VMs): missing ",
              MapText(f.missing_by_type), "\n");
    for (const Stuck& st : f.cannot_restart) {
      StrAppend(&s, "  cannot restart ", n.VmName(st.vm), ": ", st.reason, "\n");
    }
  }
  for (const Reservation& res : r.reserve) {
    StrAppend(&s, "reserve ", res.instances, " x ", res.type, " on [", StrJoin(res.hosts, ", "),
              "]\n");
  }
  return s;
}

void RunHa(const Scenario& s, const Cluster& c, Checker& check, Outcome& out) {
  const Names n(c);
  const HaResult r = CheckHa(c, s.place);
  out.summary = RenderHa(n, r);
  check.Deterministic(out.summary, RenderHa(n, CheckHa(c, s.place)));
  const Expectations& x = s.expect;
  bool all_restart = true;
  std::map<std::string, std::map<std::string, int>> missing;
  std::map<std::string, std::string> cannot;
  for (const HostFailure& f : r.failures) {
    all_restart = all_restart && f.cannot_restart.empty();
    if (!f.missing_by_type.empty()) missing[n.HostName(f.host)] = f.missing_by_type;
    for (const Stuck& st : f.cannot_restart) cannot[n.VmName(st.vm)] = st.reason;
  }
  if (all_restart != r.n_plus_one) check.Fail("n_plus_one disagrees with the failures");
  if (x.n_plus_one) {
    check.Eq("n_plus_one", r.n_plus_one ? "true" : "false", *x.n_plus_one ? "true" : "false");
  }
  check.Eq("missing", MapText(missing), MapText(x.missing));
  std::map<std::string, int> reserve;
  std::map<std::string, std::vector<std::string>> hosts;
  for (const Reservation& res : r.reserve) {
    reserve[res.type] = res.instances;
    hosts[res.type] = res.hosts;
  }
  check.Eq("reserve", MapText(reserve), MapText(x.reserve));
  if (x.cannot_restart) check.Reasons("cannot_restart", cannot, *x.cannot_restart);
  for (const auto& [type, want] : x.reserve_hosts) {
    check.Eq(StrCat("reserve_hosts ", type), StrJoin(hosts[type], ","), StrJoin(want, ","));
  }
}

std::string RenderDefrag(const Names& n, const DefragResult& r) {
  std::string s = StrCat(r.explanation, "\n");
  for (const Move& m : r.moves) StrAppend(&s, "move ", n.Describe(m.to), "\n");
  for (const Recarve& rc : r.recarves) {
    StrAppend(&s, "recarve ", n.HostName(rc.host), "/", n.Gpus(rc.host, {rc.gpu}), " ",
              rc.from ? rc.from->name : "(unconfigured)", " -> ", TypeName(rc.to), "\n");
  }
  return s;
}

void RunDefrag(const Scenario& s, const Cluster& c, Checker& check, Outcome& out) {
  const Names n(c);
  EvacuateOptions options;
  options.place = s.place;
  options.stun_budget_seconds = s.stun_budget_seconds;
  const DefragResult r = Defrag(c, *s.target, s.count, options);
  out.summary = RenderDefrag(n, r);
  check.Deterministic(out.summary, RenderDefrag(n, Defrag(c, *s.target, s.count, options)));
  check.NoViolations("the cluster after defragmentation", r.cluster);
  if (r.satisfied != (r.free_after >= s.count)) check.Fail("satisfied disagrees with free_after");
  if (r.satisfied && static_cast<int>(r.moves.size()) < r.moves_lower_bound) {
    check.Fail("the plan moves fewer VMs than its lower bound");
  }
  const Expectations& x = s.expect;
  if (x.satisfied) {
    check.Eq("satisfied", r.satisfied ? "true" : "false", *x.satisfied ? "true" : "false");
  }
  if (x.moves) check.Eq("moves", static_cast<int>(r.moves.size()), *x.moves);
  if (x.recarves) check.Eq("recarves", static_cast<int>(r.recarves.size()), *x.recarves);
  if (x.free_before) check.Eq("free_before", r.free_before, *x.free_before);
  if (x.free_after) check.Eq("free_after", r.free_after, *x.free_after);
  if (x.minimal) {
    check.Eq("minimal", r.minimal ? "true" : "false", *x.minimal ? "true" : "false");
  }
  if (x.moves_lower_bound) check.Eq("moves_lower_bound", r.moves_lower_bound, *x.moves_lower_bound);
  check.Contains("explanation", r.explanation, x.explanation_contains);
  CheckDestinations(check, n, r.moves, x.to);
}

}  // namespace

Outcome RunScenario(const Scenario& s, const core::Catalog& catalog) {
  Outcome out;
  Checker check(out);
  // The input, decoded and checked as `gpufleet plan` does; its errors may be the expectation.
  std::optional<std::string> input_error;
  absl::StatusOr<Cluster> cluster = DecodeClusterNode(s.cluster, s.file_name, catalog);
  std::vector<int> demand;
  if (!cluster.ok()) {
    input_error = std::string(ToStd(cluster.status().message()));
  } else if (std::vector<std::string> broken = Violations(*cluster); !broken.empty()) {
    input_error =
        StrCat(s.file_name, ": the current state breaks a planner rule: ", broken.front());
  } else if (s.demand) {
    absl::StatusOr<std::vector<int>> d =
        AppendDemandNode(*s.demand, s.file_name, catalog, *cluster);
    if (d.ok()) {
      demand = *std::move(d);
    } else {
      input_error = std::string(ToStd(d.status().message()));
    }
  }
  if (!s.expect.error_contains.empty()) {
    if (!input_error) {
      check.Fail("expected the input to be rejected, but it was accepted");
    } else {
      out.summary = *input_error;
      check.Contains("error", *input_error, s.expect.error_contains);
    }
    return out;
  }
  if (input_error) {
    check.Error(StrCat("the input is rejected: ", *input_error));
    return out;
  }
  switch (s.operation) {
    case Operation::kPlace:
      RunPlace(s, *cluster, check, out);
      break;
    case Operation::kPlan:
      RunPlan(s, *cluster, demand, check, out);
      break;
    case Operation::kEvacuate:
      RunEvacuate(s, *cluster, check, out);
      break;
    case Operation::kHa:
      RunHa(s, *cluster, check, out);
      break;
    case Operation::kDefrag:
      RunDefrag(s, *cluster, check, out);
      break;
  }
  return out;
}

}  // namespace gpufleet::planner::scenario
