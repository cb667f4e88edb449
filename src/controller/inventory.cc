#include "controller/inventory.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/host_report.h"
#include "controller/placement.h"
#include "planner/model.h"

namespace gpufleet::controller {

// The soft state of liveness, per host: the last heartbeat this controller received, whether the
// store has it yet, and the host's state as the controller last knew it. Down is exact: only
// Inventory marks a host down or up, always under the placement lock, and it updates the table
// as it does (ClaimDown before the write, Restore after a failed one). Ready versus maintenance
// may lag by one sweep (operations change it; every sweep refreshes it). Sharded by name, so that
// heartbeats of different hosts rarely wait on each other. Thread-safe.
class HeartbeatTable {
 public:
  // What ClaimDown changed, for Restore.
  struct Claim {
    std::string name;
    absl::Time since;    // the time the host is timed from
    bool heard = false;  // `since` is a heartbeat this controller received
    bool existed = false;
    store::HostState previous = store::HostState::kReady;
  };

  // A heartbeat of a known host that is not down: records it, returns the host's state.
  // nullopt for an unknown host or a down one (the caller goes to the store).
  std::optional<store::HostState> Touch(std::string_view name, absl::Time now) {
    Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(name);
    if (it == shard.entries.end() || it->second.state == store::HostState::kDown) {
      return std::nullopt;
    }
    Beat(it->second, now);
    return it->second.state;
  }

  // The first heartbeat of a host that the store says is `stored` (not down): as Touch, adding
  // the host when it is still unknown.
  std::optional<store::HostState> Learn(std::string_view name, absl::Time now,
                                        store::HostState stored) {
    Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto [it, added] = shard.entries.try_emplace(std::string(name), Entry{now, stored, true, true});
    if (added) return stored;
    if (it->second.state == store::HostState::kDown) return std::nullopt;
    Beat(it->second, now);
    return it->second.state;
  }

  // After a durable heartbeat (its time is in the store) or a state change written by the
  // caller under the placement lock.
  void Set(std::string_view name, std::optional<absl::Time> durable_beat, store::HostState state) {
    Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(name);
    if (it == shard.entries.end()) {
      if (!durable_beat.has_value()) return;
      it = shard.entries.try_emplace(std::string(name), Entry{*durable_beat, state, true, false})
               .first;
    } else if (durable_beat.has_value()) {
      if (!it->second.heard || *durable_beat > it->second.last) it->second.last = *durable_beat;
      it->second.heard = true;
    }
    it->second.state = state;
  }

  // From a sweep's read of the store: ready or maintenance, never into or out of down.
  void Refresh(std::string_view name, store::HostState stored) {
    if (stored == store::HostState::kDown) return;
    Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(name);
    if (it != shard.entries.end() && it->second.state != store::HostState::kDown) {
      it->second.state = stored;
    }
  }

  // The last heartbeat received of `name`, or nullopt.
  [[nodiscard]] std::optional<absl::Time> Last(std::string_view name) const {
    const Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(name);
    if (it == shard.entries.end() || !it->second.heard) return std::nullopt;
    return it->second.last;
  }

  // The time `name` is timed from: its last heartbeat, or the base a claim recorded; nullopt
  // when the table has neither.
  [[nodiscard]] std::optional<absl::Time> TimedFrom(std::string_view name) const {
    const Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(name);
    if (it == shard.entries.end()) return std::nullopt;
    return it->second.last;
  }

  // Marks `name` down in the table when it is not down and has been silent `grace` or more
  // (timed from `fallback` when the table has no heartbeat of it): from here on its heartbeats
  // go to the store, and wait for the placement lock that the caller holds. nullopt when the
  // host is not to be marked.
  std::optional<Claim> ClaimDown(std::string_view name, absl::Time now, absl::Duration grace,
                                 absl::Time fallback) {
    Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    Claim claim{.name = std::string(name), .since = fallback};
    auto it = shard.entries.find(name);
    if (it == shard.entries.end()) {
      if (now - fallback < grace) return std::nullopt;
      shard.entries.try_emplace(claim.name, Entry{fallback, store::HostState::kDown, false, false});
      return claim;
    }
    Entry& e = it->second;
    if (e.state == store::HostState::kDown || now - e.last < grace) return std::nullopt;
    claim.since = e.last;
    claim.heard = e.heard;
    claim.existed = true;
    claim.previous = e.state;
    e.state = store::HostState::kDown;
    return claim;
  }

  // Undoes ClaimDown after a write that failed, or for a host the store no longer has.
  void Restore(const Claim& claim) {
    Shard& shard = ShardOf(claim.name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(claim.name);
    if (it == shard.entries.end()) return;
    if (!claim.existed) {
      shard.entries.erase(it);
    } else {
      it->second.state = claim.previous;
    }
  }

  // The heartbeats not yet in the store; they are marked written.
  std::vector<std::pair<std::string, absl::Time>> TakeDirty() {
    std::vector<std::pair<std::string, absl::Time>> out;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (auto& [name, e] : shard.entries) {
        if (!e.dirty || !e.heard) continue;
        out.emplace_back(name, e.last);
        e.dirty = false;
      }
    }
    return out;
  }

  // The host was deleted: nothing of it remains.
  void Forget(std::string_view name) {
    Shard& shard = ShardOf(name);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(name);
    if (it != shard.entries.end()) shard.entries.erase(it);
  }

  // After a failed flush: `beats` are to be written again.
  void MarkDirty(const std::vector<std::pair<std::string, absl::Time>>& beats) {
    for (const auto& [name, last] : beats) {
      Shard& shard = ShardOf(name);
      std::lock_guard<std::mutex> lock(shard.mu);
      auto it = shard.entries.find(name);
      if (it != shard.entries.end()) it->second.dirty = true;
    }
  }

 private:
  struct Entry {
    absl::Time last;  // a heartbeat when `heard`, else the time a claim timed the host from
    store::HostState state;
    bool heard;
    bool dirty;  // `last` is a heartbeat not in the store yet
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry, NameHash, std::equal_to<>> entries;  // guarded by mu
  };
  static constexpr std::size_t kShards = 16;

  static void Beat(Entry& e, absl::Time now) {
    if (!e.heard || now > e.last) e.last = now;
    e.heard = true;
    e.dirty = true;
  }
  static std::size_t ShardIndex(std::string_view name) {
    // The map hashes the same value; take the shard from other bits than its bucket.
    const std::size_t hash = NameHash{}(name);
    return (hash * 0x9E3779B97F4A7C15ull) >> 60;
  }
  Shard& ShardOf(std::string_view name) { return shards_[ShardIndex(name)]; }
  const Shard& ShardOf(std::string_view name) const { return shards_[ShardIndex(name)]; }

  std::array<Shard, kShards> shards_;
};

Inventory::Inventory(Context context, InventoryOptions options)
    : context_(context),
      options_(options),
      started_(context.clock->Now()),
      beats_(std::make_unique<HeartbeatTable>()),
      last_flush_(started_) {}

Inventory::~Inventory() { (void)FlushHeartbeats(); }

std::optional<absl::Time> Inventory::LastHeartbeat(std::string_view host) const {
  return beats_->Last(host);
}

void Inventory::OverlayLastHeartbeat(store::Host& host) const {
  std::optional<absl::Time> live = beats_->Last(host.name);
  if (live.has_value() && (!host.last_heartbeat.has_value() || *live > *host.last_heartbeat)) {
    host.last_heartbeat = live;
  }
}

nlohmann::json GpuJson(const store::Gpu& gpu) {
  return {{"host", gpu.host}, {"pci", gpu.id},  {"board", gpu.board},
          {"mode", gpu.mode}, {"ecc", gpu.ecc}, {"carved_type", gpu.carved_type},
          {"held", gpu.held}};
}

nlohmann::json HostJson(const store::Host& host, const std::vector<store::Gpu>& gpus) {
  nlohmann::json labels = nlohmann::json::object();
  bool hotmigrate = true;
  for (const auto& [k, v] : host.labels) {
    if (k == kHotmigrateLabel) {
      hotmigrate = v != "false";
    } else {
      labels[k] = v;
    }
  }
  nlohmann::json g = nlohmann::json::array();
  for (const store::Gpu& gpu : gpus) g.push_back(GpuJson(gpu));
  return {{"name", host.name},
          {"state", store::HostStateName(host.state)},
          {"hypervisor", host.hypervisor},
          {"manager_version", host.manager_version},
          {"hotmigrate", hotmigrate},
          {"labels", labels},
          {"agent", host.agent},
          {"last_heartbeat", TimeOrNull(host.last_heartbeat)},
          {"version", host.version},
          {"gpus", g}};
}

absl::Status Inventory::AddRoutes(api::Router& router) {
  using api::Access;
  using api::Role;
  const Access agent_or_admin = Access::AgentOwnHost("host").Or(Role::kAdmin);
  GPUFLEET_RETURN_IF_ERROR(router.Add("PUT", "/api/v1/hosts/{host}", agent_or_admin,
                                      [this](const api::Request& r) { return PutHost(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/hosts", Access::Viewer(),
                                      [this](const api::Request& r) { return ListHosts(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/hosts/{host}", Access::Viewer(),
                                      [this](const api::Request& r) { return GetHost(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("DELETE", "/api/v1/hosts/{host}", Access::Admin(),
                                      [this](const api::Request& r) { return DeleteHost(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/gpus", Access::Viewer(),
                                      [this](const api::Request& r) { return ListGpus(r); }));
  return router.Add("POST", "/api/v1/hosts/{host}/heartbeat", agent_or_admin,
                    [this](const api::Request& r) { return Heartbeat(r); });
}

api::Response Inventory::PutHost(const api::Request& request) {
  const std::string name(request.PathParam("host"));
  if (absl::Status s = CheckName(name, "host"); !s.ok()) return api::Response::Error(s);
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<HostReport> report = DecodeHostReport(*body, *context_.catalog);
  if (!report.ok()) return api::Response::Error(report.status());
  const std::string actor = ActorOf(request);
  const bool by_agent = request.principal && request.principal->role == api::Role::kAgent;
  store::Host saved;
  std::vector<store::Gpu> saved_gpus;
  bool created = false;
  absl::Status s = context_.placement->Locked([&](FleetState&) -> absl::Status {
    if (absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
          absl::StatusOr<store::Host> existing = tx.GetHost(name);
          if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
          created = !existing.ok();
          store::Host host = created ? store::Host{} : *existing;
          if (!created) GPUFLEET_RETURN_IF_ERROR(api::CheckIfMatch(request, host.version));
          host.name = name;
          host.hypervisor = report->hypervisor;
          if (report->state.has_value()) host.state = *report->state;
          host.manager_version = report->manager_version;
          host.labels = report->labels;
          if (!report->hotmigrate.has_value() && !created) {
            auto old = existing->labels.find(std::string(kHotmigrateLabel));
            if (old != existing->labels.end()) host.labels[old->first] = old->second;
          }
          if (by_agent) host.agent = request.principal->agent_host;
          GPUFLEET_RETURN_IF_ERROR(created ? tx.CreateHost(host) : tx.UpdateHost(host));
          GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> old_gpus, tx.ListGpus(name));
          std::map<std::string, store::Gpu> old_by_id;
          for (store::Gpu& g : old_gpus) old_by_id[g.id] = std::move(g);
          saved_gpus.clear();
          for (store::Gpu gpu : report->gpus) {
            gpu.host = name;
            auto it = old_by_id.find(gpu.id);
            if (it == old_by_id.end()) {
              GPUFLEET_RETURN_IF_ERROR(tx.CreateGpu(gpu));
            } else {
              gpu.version = it->second.version;
              gpu.held = it->second.held;
              GPUFLEET_RETURN_IF_ERROR(tx.UpdateGpu(gpu));
              old_by_id.erase(it);
            }
            saved_gpus.push_back(gpu);
          }
          for (const auto& [id, gone] : old_by_id) {
            absl::Status removed = tx.DeleteGpu(name, id, store::kAnyVersion);
            if (absl::IsFailedPrecondition(removed)) {
              return absl::FailedPreconditionError(
                  StrCat("host ", name, ": gpu ", id,
                         " is missing from the report but still holds "
                         "desired vGPUs; delete or evacuate its VMs first"));
            }
            GPUFLEET_RETURN_IF_ERROR(removed);
          }
          saved = host;
          return AppendEvent(tx, created ? "host.registered" : "host.updated",
                             StrCat("host/", name), actor,
                             StrCat("host ", name, created ? " registered" : " updated", " with ",
                                    saved_gpus.size(), " GPUs"));
        });
        !written.ok())
      return written;
    beats_->Set(name, std::nullopt, saved.state);  // a state in the report may end a down
    return context_.placement->RebuildLocked();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(HostJson(saved, saved_gpus), created ? 201 : 200)
      .SetETag(saved.version);
}

api::Response Inventory::DeleteHost(const api::Request& request) {
  const std::string name(request.PathParam("host"));
  const std::string actor = ActorOf(request);
  bool revoked = false;
  absl::Status s = context_.placement->Locked([&](FleetState&) -> absl::Status {
    revoked = false;
    absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      absl::StatusOr<store::Host> host = tx.GetHost(name);
      if (absl::IsNotFound(host.status())) {
        return WithField(absl::NotFoundError(StrCat("host ", QuoteForMessage(name), " not found")),
                         "host");
      }
      GPUFLEET_RETURN_IF_ERROR(host.status());
      GPUFLEET_RETURN_IF_ERROR(api::CheckIfMatch(request, host->version));
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> held,
                                tx.ListDesiredInstances({.host = name, .gpu = "", .vm = ""}));
      if (!held.empty()) {
        std::vector<std::string> vms;
        for (const store::DesiredInstance& d : held) {
          if (std::find(vms.begin(), vms.end(), d.vm) == vms.end()) vms.push_back(d.vm);
        }
        const std::size_t n = vms.size();
        if (n > 5) vms.resize(5);
        return absl::FailedPreconditionError(
            StrCat("host ", name, " still runs ", n, " VM", n == 1 ? "" : "s", " (",
                   StrJoin(vms, ", "), n > 5 ? ", ..." : "",
                   "): move them first (gpufleet host maintenance ", name, ") or delete them"));
      }
      // The agent's credential goes with the host, so that the agent cannot register it again.
      const std::string agent = host->agent.empty() ? name : host->agent;
      absl::StatusOr<store::AgentCredential> credential = tx.GetAgentCredential(agent);
      if (credential.ok()) {
        GPUFLEET_RETURN_IF_ERROR(tx.DeleteAgentCredential(agent, credential->version));
        revoked = true;
      } else if (!absl::IsNotFound(credential.status())) {
        return credential.status();
      }
      GPUFLEET_RETURN_IF_ERROR(tx.DeleteHost(name, host->version));
      return AppendEvent(tx, "host.deleted", StrCat("host/", name), actor,
                         StrCat("host ", name, " deleted with its GPUs",
                                revoked ? StrCat("; agent ", agent, "'s credential revoked") : ""));
    });
    if (!written.ok()) return written;
    beats_->Forget(name);
    return context_.placement->RebuildLocked();
  });
  if (!s.ok()) return api::Response::Error(s);
  if (revoked && options_.credentials_revoked) options_.credentials_revoked();
  if (options_.host_deleted) options_.host_deleted(name);
  return api::Response::NoContent();
}

api::Response Inventory::ListHosts(const api::Request&) {
  nlohmann::json items = nlohmann::json::array();
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Host> hosts, tx.ListHosts());
    for (store::Host& h : hosts) {
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(h.name));
      OverlayLastHeartbeat(h);
      items.push_back(HostJson(h, gpus));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}});
}

api::Response Inventory::GetHost(const api::Request& request) {
  const std::string name(request.PathParam("host"));
  store::Host host;
  std::vector<store::Gpu> gpus;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(host, tx.GetHost(name));
    GPUFLEET_ASSIGN_OR_RETURN(gpus, tx.ListGpus(name));
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  OverlayLastHeartbeat(host);
  return api::Response::Json(HostJson(host, gpus)).SetETag(host.version);
}

api::Response Inventory::ListGpus(const api::Request& request) {
  const std::string host(request.Query("host").value_or(""));
  const std::string board_query(request.Query("board").value_or(""));
  std::string board;
  if (!board_query.empty()) {
    absl::StatusOr<const core::Board*> b = context_.catalog->ResolveBoard(board_query);
    if (!b.ok()) return api::Response::Error(WithField(b.status(), "board"));
    board = (*b)->prefix;
  }
  nlohmann::json items = nlohmann::json::array();
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(host));
    for (const store::Gpu& g : gpus) {
      if (board.empty() || g.board == board) items.push_back(GpuJson(g));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}});
}

api::Response Inventory::Heartbeat(const api::Request& request) {
  const std::string_view name = request.PathParam("host");
  const absl::Time now = context_.clock->Now();
  std::optional<store::HostState> state = beats_->Touch(name, now);
  if (!state.has_value()) {
    absl::StatusOr<store::HostState> slow = HeartbeatFromStore(name, now, ActorOf(request));
    if (!slow.ok()) return api::Response::Error(slow.status());
    state = *slow;
  }
  return api::Response::Json(
      {{"host", name},
       {"state", store::HostStateName(*state)},
       {"next_heartbeat_seconds", absl::ToInt64Seconds(options_.heartbeat_interval)}});
}

absl::StatusOr<store::HostState> Inventory::HeartbeatFromStore(std::string_view name,
                                                               absl::Time now,
                                                               std::string_view actor) {
  store::HostState stored = store::HostState::kReady;
  GPUFLEET_RETURN_IF_ERROR(context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(store::Host host, tx.GetHost(name));
    stored = host.state;
    return absl::OkStatus();
  }));
  if (stored != store::HostState::kDown) {
    // The read may be older than a sweep that marked the host down since; Learn sees its claim.
    std::optional<store::HostState> learned = beats_->Learn(name, now, stored);
    if (learned.has_value()) return *learned;
  }
  return HeartbeatDurably(name, now, actor);
}

absl::StatusOr<store::HostState> Inventory::HeartbeatDurably(std::string_view name, absl::Time now,
                                                             std::string_view actor) {
  store::Host saved;
  absl::Status s = context_.placement->Locked([&](FleetState& state) -> absl::Status {
    bool came_back = false;
    if (absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
          GPUFLEET_ASSIGN_OR_RETURN(store::Host host, tx.GetHost(name));
          if (!host.last_heartbeat.has_value() || *host.last_heartbeat < now) {
            host.last_heartbeat = now;
          }
          came_back = host.state == store::HostState::kDown;
          if (came_back) host.state = store::HostState::kReady;
          GPUFLEET_RETURN_IF_ERROR(tx.UpdateHost(host));
          saved = host;
          if (!came_back) return absl::OkStatus();
          return AppendEvent(tx, "host.up", StrCat("host/", name), actor,
                             StrCat("host ", name, " is up again: heartbeat received"));
        });
        !written.ok())
      return written;
    if (came_back) {
      auto it = state.hosts.find(name);
      if (it != state.hosts.end())
        state.fleet->SetHostState(it->second, planner::HostState::kReady);
    }
    beats_->Set(name, now, saved.state);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return saved.state;
}

absl::StatusOr<std::vector<std::string>> Inventory::SweepLiveness() {
  std::lock_guard<std::mutex> sweeping(sweep_mu_);
  const absl::Time now = context_.clock->Now();
  const absl::Duration grace = kMissedHeartbeats * options_.heartbeat_interval;
  // Hosts not down that look silent, each with the time it is timed from when this controller
  // has no heartbeat of it.
  std::vector<std::pair<std::string, absl::Time>> candidates;
  if (absl::Status listed = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
        GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Host> hosts, tx.ListHosts());
        for (const store::Host& h : hosts) {
          if (h.state == store::HostState::kDown) continue;
          beats_->Refresh(h.name, h.state);
          const absl::Time fallback = std::max(h.last_heartbeat.value_or(h.created_at), started_);
          if (now - beats_->TimedFrom(h.name).value_or(fallback) >= grace) {
            candidates.emplace_back(h.name, fallback);
          }
        }
        return absl::OkStatus();
      });
      !listed.ok())
    return listed;
  std::vector<std::string> marked;
  if (!candidates.empty()) {
    GPUFLEET_RETURN_IF_ERROR(MarkDown(candidates, now, grace, marked));
  }
  if (now - last_flush_ >= options_.heartbeat_interval) {
    GPUFLEET_RETURN_IF_ERROR(FlushHeartbeats());
    last_flush_ = now;
  }
  return marked;
}

absl::Status Inventory::MarkDown(const std::vector<std::pair<std::string, absl::Time>>& candidates,
                                 absl::Time now, absl::Duration grace,
                                 std::vector<std::string>& marked) {
  return context_.placement->Locked([&](FleetState& state) -> absl::Status {
    // Claimed in the table before the write: a heartbeat from here on waits for this lock, then
    // finds the host down in the store and brings it up with its event.
    std::vector<HeartbeatTable::Claim> claims;
    for (const auto& [name, fallback] : candidates) {
      std::optional<HeartbeatTable::Claim> claim = beats_->ClaimDown(name, now, grace, fallback);
      if (claim.has_value()) claims.push_back(*std::move(claim));
    }
    if (claims.empty()) return absl::OkStatus();
    std::vector<const HeartbeatTable::Claim*> gone;
    absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      marked.clear();
      gone.clear();
      for (const HeartbeatTable::Claim& claim : claims) {
        absl::StatusOr<store::Host> host = tx.GetHost(claim.name);
        if (absl::IsNotFound(host.status())) {
          gone.push_back(&claim);
          continue;
        }
        GPUFLEET_RETURN_IF_ERROR(host.status());
        if (host->state == store::HostState::kDown) continue;
        const absl::Time stored_last = host->last_heartbeat.value_or(host->created_at);
        host->state = store::HostState::kDown;
        // The row keeps the last heartbeat that this controller had not flushed yet.
        if (claim.heard && claim.since > stored_last) host->last_heartbeat = claim.since;
        GPUFLEET_RETURN_IF_ERROR(tx.UpdateHost(*host));
        const std::string silence =
            !claim.heard && claim.since == started_ && started_ > stored_last
                ? StrCat("no heartbeat since the controller started ",
                         absl::FormatDuration(now - claim.since), " ago")
                : StrCat("no heartbeat for ", absl::FormatDuration(now - claim.since));
        GPUFLEET_RETURN_IF_ERROR(AppendEvent(
            tx, "host.down", StrCat("host/", claim.name), "",
            StrCat("host ", claim.name, " is down: ", silence, " (", kMissedHeartbeats,
                   " intervals of ", absl::FormatDuration(options_.heartbeat_interval), ")")));
        marked.push_back(claim.name);
      }
      return absl::OkStatus();
    });
    if (!written.ok()) {
      for (const HeartbeatTable::Claim& claim : claims) beats_->Restore(claim);
      marked.clear();
      return written;
    }
    for (const HeartbeatTable::Claim* claim : gone) beats_->Restore(*claim);
    for (const std::string& name : marked) {
      auto it = state.hosts.find(name);
      if (it != state.hosts.end()) {
        state.fleet->SetHostState(it->second, planner::HostState::kDown);
      }
    }
    return absl::OkStatus();
  });
}

absl::Status Inventory::FlushHeartbeats() {
  std::lock_guard<std::mutex> flushing(flush_mu_);
  std::vector<std::pair<std::string, absl::Time>> beats = beats_->TakeDirty();
  if (beats.empty()) return absl::OkStatus();
  absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    for (const auto& [name, last] : beats) {
      GPUFLEET_RETURN_IF_ERROR(tx.TouchHostHeartbeat(name, last));
    }
    return absl::OkStatus();
  });
  if (!written.ok()) beats_->MarkDirty(beats);
  return written;
}

}  // namespace gpufleet::controller
