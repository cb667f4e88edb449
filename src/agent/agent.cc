#include "agent/agent.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <utility>

#include "common/strings.h"

namespace gpufleet::agent {

Agent::Agent(AgentOptions options, AgentBackends backends, ControllerApi& controller,
             const os::Clock& clock, const StateFile& state_file)
    : options_(std::move(options)),
      backends_(backends),
      controller_(controller),
      clock_(clock),
      state_file_(state_file),
      reconciler_(*backends.vgpu, clock, options_.reconcile),
      heartbeat_interval_(options_.heartbeat_interval) {}

void Agent::Remember(const absl::Status& status) {
  if (status.ok()) return;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.last_error = std::string(status.message());
  }
  // Every occurrence counts toward the next report; the first kMaxReportedErrors distinct ones
  // go up with it (never an empty message, which the controller refuses).
  const std::string problem = status.message().empty()
                                  ? std::string(absl::StatusCodeToString(status.code()))
                                  : std::string(status.message());
  auto seen = std::find_if(unreported_errors_.begin(), unreported_errors_.end(),
                           [&](const AgentError& e) { return e.message == problem; });
  if (seen != unreported_errors_.end()) {
    seen->count += seen->count < (1 << 30) ? 1 : 0;
  } else if (unreported_errors_.size() < kMaxReportedErrors) {
    unreported_errors_.push_back({.message = problem});
  }
  // The same complaint is logged once a minute, not at every attempt.
  const absl::Time now = clock_.Now();
  auto [it, fresh] = logged_.try_emplace(std::string(status.message()), now);
  if (!fresh && now - it->second < absl::Minutes(1)) return;
  it->second = now;
  if (logged_.size() > 64) logged_.clear();
  if (options_.log) options_.log(StrCat("agent ", options_.host, ": ", status.message()));
}

absl::Status Agent::Persist() {
  absl::Status s = state_file_.Save(state_);
  Remember(s);
  return s;
}

absl::Status Agent::Start() {
  absl::StatusOr<std::optional<AgentState>> loaded = state_file_.Load();
  if (!loaded.ok()) return loaded.status();
  if (loaded->has_value()) {
    if ((*loaded)->host != options_.host) {
      return absl::FailedPreconditionError(StrCat(state_file_.path(), " belongs to host \"",
                                                  (*loaded)->host, "\", not \"", options_.host,
                                                  "\"; give this agent its own --state-dir"));
    }
    state_ = **std::move(loaded);
  } else {
    state_.host = options_.host;
  }
  if (state_.credential.empty() && options_.enrolment_token.empty()) {
    return absl::FailedPreconditionError(
        StrCat("agent ", options_.host,
               " has no credential yet: pass --enrol-token (create one with `gpufleet hosts "
               "enrol-token ",
               options_.host, "` as an admin)"));
  }
  if (!state_.credential.empty()) {
    controller_.SetCredential(state_.credential);
    enrolled_ = true;
  }
  // Converge from what was last wanted, before the controller is even asked.
  Reconcile(clock_.Now());
  return absl::OkStatus();
}

absl::Status Agent::EnsureEnrolled() {
  if (enrolled_) return absl::OkStatus();
  absl::StatusOr<std::string> credential = controller_.Enrol(options_.enrolment_token);
  if (!credential.ok()) return credential.status();
  state_.credential = *credential;
  controller_.SetCredential(state_.credential);
  enrolled_ = true;
  if (options_.log) options_.log(StrCat("agent ", options_.host, ": enrolled"));
  return Persist();
}

bool Agent::Register() {
  absl::StatusOr<backends::HostFacts> facts = backends_.vgpu->Facts();
  if (!facts.ok()) {
    Remember(facts.status());
    return false;
  }
  if (reported_facts_.has_value() && *reported_facts_ == *facts) return true;
  absl::Status s = controller_.PutHost(options_.host, *facts);
  Remember(s);
  if (s.ok()) reported_facts_ = *std::move(facts);
  return true;
}

void Agent::HeartbeatAndFetch(absl::Time now) {
  next_heartbeat_ = now + heartbeat_interval_;
  // A heartbeat says the host can run vGPU VMs: when its vGPU manager does not answer, there
  // is none, and after 3 intervals the controller marks the host down (and restarts its VMs).
  if (!Register()) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.heartbeat_failures;
    return;
  }
  absl::StatusOr<HeartbeatReply> beat = controller_.Heartbeat(options_.host);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++(beat.ok() ? stats_.heartbeats : stats_.heartbeat_failures);
    stats_.controller_reachable = beat.ok() || !absl::IsUnavailable(beat.status());
  }
  if (!beat.ok()) {
    Remember(beat.status());
    if (absl::IsNotFound(beat.status())) reported_facts_.reset();  // register again
    if (absl::IsUnauthenticated(beat.status()) && !options_.enrolment_token.empty()) {
      enrolled_ = false;  // revoked or re-enrolled elsewhere: try the token once more
    }
    return;
  }
  if (beat->next_heartbeat > absl::ZeroDuration()) {
    heartbeat_interval_ = beat->next_heartbeat;
    next_heartbeat_ = now + heartbeat_interval_;
  }
  absl::StatusOr<std::optional<DesiredState>> desired =
      controller_.GetDesired(options_.host, state_.desired.generation);
  if (!desired.ok()) {
    Remember(desired.status());
    return;
  }
  if (!desired->has_value()) return;  // unchanged
  state_.desired = **std::move(desired);
  for (const DesiredInstance& d : state_.desired.instances) state_.owned.insert(d.uuid);
  if (options_.log) {
    for (const StartHold& h : state_.desired.holds) {
      options_.log(StrCat("not starting vm ", h.vm, " yet: ", h.reason));
    }
  }
  // The new desired state is on disk before anything acts on it.
  (void)Persist();
  reconcile_wanted_ = true;
}

void Agent::Reconcile(absl::Time now) {
  reconcile_wanted_ = false;
  vm_retry_at_ = absl::InfiniteFuture();
  next_resync_ = now + options_.resync_interval;
  MigrateDepartures(now);
  if (options_.manage_vms) StopUnwantedVms();
  ReconcileOutcome out = reconciler_.Run(state_.desired.instances, state_.owned);
  for (const ReconcileFailure& f : out.failures) {
    Remember(absl::Status(f.status.code(),
                          StrCat(f.action, " ", f.uuid.ToString(), ": ", f.status.message())));
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.reconciles;
    stats_.created += out.created;
    stats_.removed += out.removed;
    stats_.rolled_back += out.rolled_back;
    stats_.failures += static_cast<int64_t>(out.failures.size());
    stats_.conflicts = static_cast<int64_t>(out.conflicts.size());
    stats_.converged = out.converged();
  }
  if (!out.listed) return;
  // Owned instances stay owned while desired or still present; the rest are forgotten.
  std::set<Uuid> keep;
  for (const DesiredInstance& d : state_.desired.instances) keep.insert(d.uuid);
  for (const backends::VgpuInstance& o : out.observed) {
    if (state_.owned.contains(o.uuid)) keep.insert(o.uuid);
  }
  if (keep != state_.owned) {
    state_.owned = std::move(keep);
    (void)Persist();
  }
  if (options_.manage_vms) StartReadyVms(out.observed);
  // Reported when it changed, and once per resync period anyway (the controller compares and
  // writes nothing when it is the same); problems alone bring a report at most once a minute.
  // A report that failed is retried with the next reconcile at or after report_retry_at_
  // (backing off from 1 s to a minute), not at every reconcile while the controller fails.
  const bool problems = !unreported_errors_.empty() && now >= next_error_report_;
  if (enrolled_ && now >= report_retry_at_ &&
      (!observed_reported_ || out.observed != reported_observed_ || now >= next_observed_report_ ||
       !state_.unreported.empty() || problems)) {
    std::vector<GpuCreatable> creatable = Creatable();  // may add a problem of its own
    std::vector<AgentError> errors = std::move(unreported_errors_);
    unreported_errors_.clear();
    absl::Status s =
        controller_.PutInstances(options_.host, out.observed, state_.unreported, creatable, errors);
    if (!s.ok() && !absl::IsInvalidArgument(s)) {
      unreported_errors_ = std::move(errors);  // they go with the next report
      report_backoff_ = std::clamp(report_backoff_ * 2, absl::Seconds(1), absl::Minutes(1));
      report_retry_at_ = now + report_backoff_;
    } else {
      report_backoff_ = absl::ZeroDuration();
      report_retry_at_ = absl::InfinitePast();
      if (!errors.empty()) next_error_report_ = now + absl::Minutes(1);
    }
    Remember(s);
    if (s.ok()) {
      if (!state_.unreported.empty()) {
        state_.unreported.clear();
        (void)Persist();  // at worst a result is reported twice, which changes nothing
      }
      reported_observed_ = out.observed;
      observed_reported_ = true;
      next_observed_report_ = now + options_.resync_interval;
    }
  }
}

std::vector<GpuCreatable> Agent::Creatable() {
  std::vector<GpuCreatable> out;
  if (!reported_facts_.has_value()) return out;
  for (const backends::PhysicalGpu& g : reported_facts_->gpus) {
    absl::StatusOr<std::vector<backends::CreatableType>> types = backends_.vgpu->Creatable(g.id);
    if (!types.ok()) {
      Remember(types.status());  // that GPU is left out; the report goes up anyway
      continue;
    }
    out.push_back({.gpu = g.id, .types = *std::move(types)});
  }
  return out;
}

void Agent::MigrateDepartures(absl::Time now) {
  std::set<std::string> listed;
  for (const Departure& d : state_.desired.departures) listed.insert(d.vm);
  if (std::erase_if(state_.departed, [&](const std::string& vm) { return !listed.contains(vm); })) {
    (void)Persist();
  }
  if (listed.empty()) {
    ResolveInterruptedMigration({});  // no longer asked for: nothing to report
    return;
  }
  std::set<std::string> running;
  if (backends_.hypervisor != nullptr) {
    absl::StatusOr<std::vector<backends::GuestVm>> vms = backends_.hypervisor->ListVms();
    if (!vms.ok()) {
      Remember(vms.status());
      vm_retry_at_ = now + options_.reconcile.initial_backoff;
      return;
    }
    for (const backends::GuestVm& vm : *vms) {
      if (vm.running) running.insert(vm.name);
    }
  }
  ResolveInterruptedMigration(running);
  for (const Departure& d : state_.desired.departures) {
    if (state_.departed.contains(d.vm) || !d.ready) continue;
    MigrationResult result{.vm = d.vm, .to = d.to};
    if (backends_.hypervisor == nullptr || !options_.live_migration) {
      result.error = StrCat("the agent of ", options_.host, " does not migrate VMs live");
    } else if (!running.contains(d.vm)) {
      result.error = StrCat("vm ", d.vm, " is not running on ", options_.host);
    } else {
      // The intent first: an agent killed during the migration learns of it on restart.
      state_.migrating = d;
      (void)Persist();  // Persist remembers a failure itself
      absl::StatusOr<absl::Duration> stun = backends_.hypervisor->MigrateVm(d.vm, d.to);
      state_.migrating.reset();
      if (absl::IsUnavailable(stun.status())) {
        Remember(stun.status());  // the destination is not ready yet: try again soon
        vm_retry_at_ = now + options_.reconcile.initial_backoff;
        continue;
      }
      if (stun.ok()) {
        result.stun = *stun;
        if (options_.log) {
          options_.log(StrCat("migrated ", d.vm, " to ", d.to, " live, paused ",
                              absl::FormatDuration(*stun)));
        }
      } else {
        result.error = stun.status().message().empty()
                           ? std::string(absl::StatusCodeToString(stun.status().code()))
                           : std::string(stun.status().message());
        Remember(stun.status());
      }
    }
    state_.departed.insert(d.vm);
    state_.unreported.push_back(std::move(result));
    // On disk before anything else (and the intent gone with it): a restarted agent must
    // neither migrate the VM again nor report it "not running here".
    (void)Persist();
  }
}

void Agent::ResolveInterruptedMigration(const std::set<std::string>& running) {
  if (!state_.migrating) return;
  const Departure d = *state_.migrating;
  state_.migrating.reset();
  const bool listed =
      std::any_of(state_.desired.departures.begin(), state_.desired.departures.end(),
                  [&](const Departure& x) { return x.vm == d.vm; });
  // Still running here: the migration did not happen (the loop tries again). Gone, and still
  // to migrate: it left during the migration; its pause was not measured.
  if (listed && !running.contains(d.vm) && !state_.departed.contains(d.vm)) {
    state_.departed.insert(d.vm);
    state_.unreported.push_back({.vm = d.vm, .to = d.to, .unmeasured = true});
    if (options_.log) {
      options_.log(StrCat("vm ", d.vm, " left for ", d.to,
                          " during a migration this agent did not see end (it was restarted); "
                          "reported as migrated, pause not measured"));
    }
  }
  (void)Persist();
}

void Agent::StopUnwantedVms() {
  if (backends_.hypervisor == nullptr) return;
  absl::StatusOr<std::vector<backends::GuestVm>> vms = backends_.hypervisor->ListVms();
  if (!vms.ok()) {
    Remember(vms.status());
    return;
  }
  std::set<std::string> wanted;
  for (const DesiredInstance& d : state_.desired.instances) wanted.insert(d.vm);
  // A VM still to migrate live (ready or not) stays up until its migration is done or refused.
  for (const Departure& d : state_.desired.departures) {
    if (!state_.departed.contains(d.vm)) wanted.insert(d.vm);
  }
  for (const backends::GuestVm& vm : *vms) {
    if (vm.running && !vm.vgpus.empty() && !wanted.contains(vm.name)) {
      Remember(backends_.hypervisor->StopVm(vm.name));  // its instances can go now
    }
  }
}

void Agent::StartReadyVms(const std::vector<backends::VgpuInstance>& observed) {
  if (backends_.hypervisor == nullptr) return;
  absl::StatusOr<std::vector<backends::GuestVm>> vms = backends_.hypervisor->ListVms();
  if (!vms.ok()) {
    Remember(vms.status());
    return;
  }
  std::map<std::string, std::vector<Uuid>> wanted;
  for (const DesiredInstance& d : state_.desired.instances) wanted[d.vm].push_back(d.uuid);
  // A VM that may still run on another host waits (the controller lifts the hold).
  for (const StartHold& h : state_.desired.holds) wanted.erase(h.vm);
  std::set<Uuid> present;
  for (const backends::VgpuInstance& o : observed) present.insert(o.uuid);
  std::set<std::string> running;
  for (const backends::GuestVm& vm : *vms) {
    if (vm.running) running.insert(vm.name);
  }
  for (const auto& [name, uuids] : wanted) {
    bool ready =
        std::all_of(uuids.begin(), uuids.end(), [&](const Uuid& u) { return present.contains(u); });
    if (ready && !running.contains(name)) {
      absl::Status started = backends_.hypervisor->StartVm(name, uuids);
      Remember(started);
      // Its vGPUs are in use now: report that at once (the controller migrates a running VM
      // live, one that is not cold).
      if (started.ok()) reconcile_wanted_ = true;
      // Typically still running where it came from until that host's agent stops it.
      if (!started.ok()) vm_retry_at_ = clock_.Now() + options_.reconcile.initial_backoff;
    }
  }
}

void Agent::PostTelemetry() {
  if (backends_.telemetry == nullptr && backends_.bmc == nullptr) return;
  std::vector<backends::GpuSample> samples;
  if (backends_.telemetry != nullptr) {
    absl::StatusOr<std::vector<backends::GpuSample>> s = backends_.telemetry->Sample();
    if (!s.ok()) {
      Remember(s.status());
      return;
    }
    samples = *std::move(s);
  }
  std::optional<backends::BmcReading> bmc;
  if (backends_.bmc != nullptr) {
    absl::StatusOr<backends::BmcReading> r = backends_.bmc->Read();
    if (r.ok()) bmc = *std::move(r);
  }
  absl::Status s = controller_.PostTelemetry(options_.host, samples, bmc);
  Remember(s);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.telemetry_posts;
  }
}

void Agent::ReportLeases() {
  if (backends_.hypervisor == nullptr) return;
  absl::StatusOr<std::vector<backends::GuestVm>> vms = backends_.hypervisor->ListVms();
  if (!vms.ok()) {
    Remember(vms.status());
    return;
  }
  std::set<std::string> mine;
  for (const DesiredInstance& d : state_.desired.instances) mine.insert(d.vm);
  absl::Time now = clock_.Now();
  for (const backends::GuestVm& vm : *vms) {
    if (!vm.license.has_value() || !mine.contains(vm.name)) continue;
    absl::Duration left = absl::ZeroDuration();
    if (vm.license->licensed && vm.license->expires_at.has_value()) {
      left = std::max(absl::ZeroDuration(), *vm.license->expires_at - now);
    }
    Remember(controller_.PutLease(options_.host, vm.name, left));
  }
}

absl::Time Agent::Tick() {
  absl::Time now = clock_.Now();
  if (nudged_.exchange(false)) {
    next_heartbeat_ = now;
    reconcile_wanted_ = true;
  }
  if (!enrolled_ && now >= next_heartbeat_) {
    absl::Status s = EnsureEnrolled();
    Remember(s);
    if (!s.ok()) next_heartbeat_ = now + heartbeat_interval_;
  }
  if (enrolled_ && now >= next_heartbeat_) HeartbeatAndFetch(now);
  if (reconcile_wanted_ || now >= next_resync_ || now >= reconciler_.next_retry() ||
      now >= vm_retry_at_) {
    Reconcile(now);
  }
  if (enrolled_ && now >= next_telemetry_) {
    next_telemetry_ = now + options_.telemetry_interval;
    PostTelemetry();
  }
  if (enrolled_ && now >= next_license_) {
    next_license_ = now + options_.license_interval;
    ReportLeases();
  }
  absl::Time next =
      std::min({next_heartbeat_, next_resync_, reconciler_.next_retry(), vm_retry_at_});
  if (enrolled_) next = std::min({next, next_telemetry_, next_license_});
  return reconcile_wanted_ ? now : next;
}

void Agent::Run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    absl::Time next = Tick();
    // Sleep in short slices so that a stop or a nudge is seen quickly.
    while (!stop.stop_requested() && !nudged_.load() && clock_.Now() < next) {
      absl::Duration left = std::min(next - clock_.Now(), absl::Milliseconds(100));
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(left));
    }
  }
}

void Agent::Nudge() { nudged_.store(true); }

AgentStats Agent::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace gpufleet::agent
