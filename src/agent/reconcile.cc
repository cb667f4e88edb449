#include "agent/reconcile.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/strings.h"

namespace gpufleet::agent {
namespace {

bool Matches(const DesiredInstance& d, const backends::VgpuInstance& o) {
  return d.gpu == o.gpu && d.type == o.type && (d.placement < 0 || d.placement == o.placement);
}

std::string Describe(const backends::VgpuInstance& o) {
  std::string text = StrCat(o.type, " on ", o.gpu);
  if (o.placement >= 0) text += StrCat(" at placement ", o.placement);
  return text;
}

backends::VgpuInstance ToInstance(const DesiredInstance& d) {
  return {.uuid = d.uuid, .gpu = d.gpu, .type = d.type, .placement = d.placement, .vm = d.vm};
}

}  // namespace

ReconcilePlan PlanReconcile(const std::vector<DesiredInstance>& desired,
                            const std::vector<backends::VgpuInstance>& observed,
                            const std::set<Uuid>& owned) {
  std::map<Uuid, const backends::VgpuInstance*> seen;
  for (const backends::VgpuInstance& o : observed) seen[o.uuid] = &o;
  std::set<Uuid> wanted;
  ReconcilePlan plan;
  for (const DesiredInstance& d : desired) {
    wanted.insert(d.uuid);
    auto it = seen.find(d.uuid);
    if (it == seen.end()) {
      plan.creates.push_back(d);
      continue;
    }
    const backends::VgpuInstance& o = *it->second;
    if (Matches(d, o)) continue;
    if (o.active) {
      plan.conflicts.push_back(
          {o.uuid, o.gpu,
           StrCat("wanted as ", d.type, " on ", d.gpu, " but it is ", Describe(o), " and in use",
                  o.vm.empty() ? "" : StrCat(" by VM ", o.vm),
                  "; it is re-created when the VM stops")});
      continue;
    }
    plan.removes.push_back(o);
    plan.creates.push_back(d);
  }
  for (const backends::VgpuInstance& o : observed) {
    if (wanted.contains(o.uuid)) continue;
    if (owned.contains(o.uuid)) {
      plan.removes.push_back(o);
    } else {
      plan.conflicts.push_back(
          {o.uuid, o.gpu,
           StrCat("foreign instance (", Describe(o),
                  ") not created by gpufleet; left alone: remove it by hand or adopt it")});
    }
  }
  std::sort(plan.creates.begin(), plan.creates.end(), [](const auto& a, const auto& b) {
    return std::tie(a.vm, a.index) < std::tie(b.vm, b.index);
  });
  return plan;
}

Reconciler::Reconciler(backends::VgpuHost& host, const os::Clock& clock, ReconcilerOptions options)
    : host_(host), clock_(clock), options_(options), rng_(options.seed) {}

bool Reconciler::Due(const Uuid& uuid, absl::Time now) const {
  auto it = backoff_.find(uuid);
  return it == backoff_.end() || it->second.next_try <= now;
}

void Reconciler::Failed(const Uuid& uuid, absl::Time now) {
  Backoff& b = backoff_[uuid];
  ++b.failures;
  absl::Duration wait = options_.initial_backoff;
  for (int i = 1; i < b.failures && wait < options_.max_backoff; ++i) wait *= 2;
  wait = std::min(wait, options_.max_backoff);
  // Up to +50% jitter, so that agents failing together do not retry together.
  std::uniform_real_distribution<double> jitter(1.0, 1.5);
  b.next_try = now + wait * jitter(rng_);
}

absl::Time Reconciler::next_retry() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [uuid, b] : backoff_) next = std::min(next, b.next_try);
  return next;
}

void Reconciler::CreateVm(const std::vector<DesiredInstance>& vm_instances, absl::Time now,
                          ReconcileOutcome& out) {
  for (const DesiredInstance& d : vm_instances) {
    if (!Due(d.uuid, now)) {
      ++out.deferred;
      return;
    }
  }
  std::vector<Uuid> made;
  for (const DesiredInstance& d : vm_instances) {
    absl::Status s = host_.CreateInstance(ToInstance(d));
    if (s.ok()) {
      made.push_back(d.uuid);
      backoff_.erase(d.uuid);
      continue;
    }
    out.failures.push_back({d.uuid, "create", s});
    Failed(d.uuid, now);
    // All or none: a VM cannot start with part of its vGPUs, and the part would hold room.
    for (auto it = made.rbegin(); it != made.rend(); ++it) {
      absl::Status undo = host_.RemoveInstance(*it);
      if (undo.ok()) {
        ++out.rolled_back;
      } else {
        out.failures.push_back({*it, "rollback", undo});
      }
    }
    return;
  }
  out.created += static_cast<int>(made.size());
}

ReconcileOutcome Reconciler::Run(const std::vector<DesiredInstance>& desired,
                                 const std::set<Uuid>& owned) {
  ReconcileOutcome out;
  absl::Time now = clock_.Now();
  absl::StatusOr<std::vector<backends::VgpuInstance>> observed = host_.ListInstances();
  if (!observed.ok()) {
    out.failures.push_back({Uuid{}, "list", observed.status()});
    return out;
  }
  out.listed = true;
  ReconcilePlan plan = PlanReconcile(desired, *observed, owned);
  out.conflicts = plan.conflicts;
  std::set<Uuid> removal_failed;
  for (const backends::VgpuInstance& o : plan.removes) {
    if (!Due(o.uuid, now)) {
      ++out.deferred;
      removal_failed.insert(o.uuid);
      continue;
    }
    absl::Status s = host_.RemoveInstance(o.uuid);
    if (s.ok()) {
      ++out.removed;
      backoff_.erase(o.uuid);
    } else if (absl::IsUnavailable(s)) {
      // Teardown in progress: look again soon, without counting it as a failure.
      ++out.deferred;
      backoff_[o.uuid].next_try = now + options_.initial_backoff;
      removal_failed.insert(o.uuid);
    } else {
      out.failures.push_back({o.uuid, "remove", s});
      Failed(o.uuid, now);
      removal_failed.insert(o.uuid);
    }
  }
  // Group creates by VM; a VM whose old instance could not be removed waits for it.
  std::map<std::string, std::vector<DesiredInstance>> by_vm;
  for (const DesiredInstance& d : plan.creates) by_vm[d.vm].push_back(d);
  for (const auto& [vm, instances] : by_vm) {
    bool blocked = std::any_of(instances.begin(), instances.end(), [&](const DesiredInstance& d) {
      return removal_failed.contains(d.uuid);
    });
    if (blocked) {
      ++out.deferred;
      continue;
    }
    CreateVm(instances, now, out);
  }
  // Forget backoff of instances nobody wants any more.
  std::set<Uuid> relevant;
  for (const DesiredInstance& d : desired) relevant.insert(d.uuid);
  for (const backends::VgpuInstance& o : *observed) relevant.insert(o.uuid);
  std::erase_if(backoff_, [&](const auto& kv) { return !relevant.contains(kv.first); });
  absl::StatusOr<std::vector<backends::VgpuInstance>> after = host_.ListInstances();
  if (after.ok()) {
    out.observed = *std::move(after);
  } else {
    out.listed = false;
    out.failures.push_back({Uuid{}, "list", after.status()});
  }
  return out;
}

}  // namespace gpufleet::agent
