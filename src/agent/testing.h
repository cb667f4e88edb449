#ifndef GPUFLEET_AGENT_TESTING_H_
#define GPUFLEET_AGENT_TESTING_H_

// Deterministic fakes for the agent's unit tests: a VgpuHost that fails exactly where told (the
// simulator's failures are random) and a ControllerApi kept in memory. End-to-end tests use the
// real controller and the simulator instead.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/controller_api.h"
#include "backends/vgpu_host.h"
#include "common/strings.h"

namespace gpufleet::agent::testing {

class FakeVgpuHost final : public backends::VgpuHost {
 public:
  std::map<Uuid, backends::VgpuInstance> instances;
  std::set<Uuid> fail_create;  // CreateInstance of these fails (Internal)
  std::set<Uuid> fail_remove;
  std::map<Uuid, int> busy_removes;  // RemoveInstance answers Unavailable this many times first
  bool down = false;
  int creates = 0;
  int removes = 0;

  absl::StatusOr<backends::HostFacts> Facts() override {
    if (down) return absl::UnavailableError("host down");
    return backends::HostFacts{.hypervisor = "kvm",
                               .manager_version = "525.105.14",
                               .hotmigrate = true,
                               .gpus = {{.id = "0000:82:00.0", .board = "Tesla P40"}}};
  }
  absl::StatusOr<std::vector<backends::VgpuInstance>> ListInstances() override {
    if (down) return absl::UnavailableError("host down");
    std::vector<backends::VgpuInstance> out;
    for (const auto& [u, i] : instances) out.push_back(i);
    return out;
  }
  absl::StatusOr<std::vector<backends::CreatableType>> Creatable(const std::string&) override {
    return std::vector<backends::CreatableType>{};
  }
  absl::Status CreateInstance(const backends::VgpuInstance& i) override {
    ++creates;
    if (down) return absl::UnavailableError("host down");
    if (fail_create.contains(i.uuid)) return absl::InternalError("injected create failure");
    backends::VgpuInstance copy = i;
    copy.vm.clear();
    copy.active = false;
    instances[i.uuid] = copy;
    return absl::OkStatus();
  }
  absl::Status RemoveInstance(const Uuid& uuid) override {
    ++removes;
    if (down) return absl::UnavailableError("host down");
    if (fail_remove.contains(uuid)) return absl::InternalError("injected remove failure");
    if (auto b = busy_removes.find(uuid); b != busy_removes.end() && b->second > 0) {
      --b->second;
      return absl::UnavailableError("busy, retry: teardown in progress");
    }
    auto it = instances.find(uuid);
    if (it != instances.end() && it->second.active) {
      return absl::FailedPreconditionError("instance in use");
    }
    instances.erase(uuid);
    return absl::OkStatus();
  }
};

class FakeController final : public ControllerApi {
 public:
  bool reachable = true;
  bool fail_put_instances = false;  // only the instance reports fail (Unavailable)
  std::string valid_enrolment = "gfe_token";
  std::string credential_given = "gfa_cred";
  std::string credential_used;
  DesiredState desired{.generation = "g0"};
  std::vector<backends::VgpuInstance> reported;
  std::vector<MigrationResult> migrations;  // every one reported, in order
  std::vector<GpuCreatable> creatable;      // with the last instances report
  std::vector<AgentError> errors;           // every problem reported, in order
  int puts_host = 0, heartbeats = 0, fetches = 0, instance_reports = 0, telemetry = 0;
  int instance_report_attempts = 0;  // failed ones too
  std::map<std::string, absl::Duration> leases;

  absl::StatusOr<std::string> Enrol(const std::string& token) override {
    if (!reachable) return absl::UnavailableError("unreachable");
    if (token != valid_enrolment) return absl::UnauthenticatedError("bad token");
    valid_enrolment.clear();  // single use
    return credential_given;
  }
  void SetCredential(const std::string& c) override { credential_used = c; }
  absl::Status PutHost(const std::string&, const backends::HostFacts&) override {
    if (!reachable) return absl::UnavailableError("unreachable");
    ++puts_host;
    return absl::OkStatus();
  }
  absl::StatusOr<HeartbeatReply> Heartbeat(const std::string&) override {
    if (!reachable) return absl::UnavailableError("unreachable");
    ++heartbeats;
    return HeartbeatReply{.state = "ready", .next_heartbeat = absl::Seconds(10)};
  }
  absl::StatusOr<std::optional<DesiredState>> GetDesired(const std::string&,
                                                         const std::string& known) override {
    if (!reachable) return absl::UnavailableError("unreachable");
    ++fetches;
    if (known == desired.generation) return std::optional<DesiredState>();
    return std::optional<DesiredState>(desired);
  }
  absl::Status PutInstances(const std::string&, const std::vector<backends::VgpuInstance>& observed,
                            const std::vector<MigrationResult>& done,
                            const std::vector<GpuCreatable>& types,
                            const std::vector<AgentError>& problems) override {
    ++instance_report_attempts;
    if (!reachable || fail_put_instances) return absl::UnavailableError("unreachable");
    ++instance_reports;
    reported = observed;
    creatable = types;
    for (const AgentError& e : problems) errors.push_back(e);
    for (const MigrationResult& m : done) migrations.push_back(m);
    return absl::OkStatus();
  }
  absl::Status PostTelemetry(const std::string&, const std::vector<backends::GpuSample>&,
                             const std::optional<backends::BmcReading>&) override {
    if (!reachable) return absl::UnavailableError("unreachable");
    ++telemetry;
    return absl::OkStatus();
  }
  absl::Status PutLease(const std::string&, const std::string& vm, absl::Duration d) override {
    if (!reachable) return absl::UnavailableError("unreachable");
    leases[vm] = d;
    return absl::OkStatus();
  }
};

inline Uuid TestUuid(int n) {
  return *Uuid::Parse(
      StrCat("00000000-0000-4000-8000-", std::string(12 - std::to_string(n).size(), '0'), n));
}

inline DesiredInstance Want(int n, std::string vm, int index = 0, std::string type = "P40-8Q") {
  return {.uuid = TestUuid(n),
          .vm = std::move(vm),
          .index = index,
          .gpu = "0000:82:00.0",
          .type = std::move(type)};
}

}  // namespace gpufleet::agent::testing

#endif  // GPUFLEET_AGENT_TESTING_H_
