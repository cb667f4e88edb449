#include "controller/licenses.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/license_bodies.h"
#include "controller/placement.h"

namespace gpufleet::controller {
namespace {

// A lease with less than this left is "expiring": NVIDIA's license clients renew well before
// the end of a lease, so one this close to its end is not being renewed.
constexpr absl::Duration kExpiringWithin = absl::Hours(1);

std::string LeaseState(const std::optional<absl::Time>& expires, absl::Time now) {
  if (!expires.has_value()) return "unknown";
  if (*expires <= now) return "expired";
  if (*expires - now < kExpiringWithin) return "expiring";
  return "valid";
}

// Seats held per pool.
absl::StatusOr<std::map<std::string, int>> UsedByPool(store::ReadTx& tx) {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicenseSeat> seats, tx.ListLicenseSeats());
  std::map<std::string, int> used;
  for (const store::LicenseSeat& s : seats) ++used[s.pool];
  return used;
}

// The edition of a placed VM, from its license or the type of its first vGPU.
absl::StatusOr<std::string> EditionOfVm(store::ReadTx& tx, const core::Catalog& catalog,
                                        const store::Vm& vm) {
  if (!vm.license.empty()) return vm.license;
  GPUFLEET_ASSIGN_OR_RETURN(auto instances,
                            tx.ListDesiredInstances({.host = "", .gpu = "", .vm = vm.name}));
  if (instances.empty()) return std::string();
  return EditionOf(catalog, "", catalog.FindTypeByName(instances.front().type));
}

// Gives the VMs of `edition` that hold no seat one each, while the pools have room (a new or
// larger pool covers the VMs placed before it).
absl::Status SeatUnseated(store::WriteTx& tx, const core::Catalog& catalog,
                          const std::string& edition, absl::Time now, int* seated) {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicenseSeat> seats, tx.ListLicenseSeats());
  std::set<std::string> held;
  for (const store::LicenseSeat& s : seats) held.insert(s.vm);
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Vm> vms, tx.ListVms());
  for (const store::Vm& vm : vms) {
    if (held.contains(vm.name)) continue;
    GPUFLEET_ASSIGN_OR_RETURN(std::string e, EditionOfVm(tx, catalog, vm));
    if (e != edition) continue;
    std::string pool;
    absl::Status s = AssignSeat(tx, vm.name, edition, now, &pool);
    if (absl::IsAborted(s)) return absl::OkStatus();  // full
    GPUFLEET_RETURN_IF_ERROR(s);
    ++*seated;
  }
  return absl::OkStatus();
}

}  // namespace

std::string EditionOf(const core::Catalog& catalog, const std::string& license,
                      const core::VgpuType* type) {
  if (!license.empty()) return license;
  if (type == nullptr) return "vWS";  // pass-through graphics is licensed as vWS
  const core::Edition* e = catalog.EditionForSeries(type->series);
  return e != nullptr ? e->id : std::string();
}

absl::StatusOr<std::map<std::string, int>> SeatsByEdition(store::ReadTx& tx) {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicensePool> pools, tx.ListLicensePools());
  std::map<std::string, int> seats;
  for (const store::LicensePool& p : pools) seats[p.edition] += p.seats;
  return seats;
}

absl::Status AssignSeat(store::WriteTx& tx, const std::string& vm, const std::string& edition,
                        absl::Time now, std::string* pool) {
  pool->clear();
  if (edition.empty()) return absl::OkStatus();
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicensePool> pools, tx.ListLicensePools());
  GPUFLEET_ASSIGN_OR_RETURN(auto used, UsedByPool(tx));
  const store::LicensePool* best = nullptr;
  int best_free = 0;
  std::vector<std::string> names;
  for (const store::LicensePool& p : pools) {
    if (p.edition != edition) continue;
    names.push_back(p.name);
    const int free = p.seats - used[p.name];
    if (free > best_free) {
      best = &p;
      best_free = free;
    }
  }
  if (names.empty()) return absl::OkStatus();
  if (best == nullptr) {
    return absl::AbortedError(StrCat("no free ", edition, " seat in pool(s) ", StrJoin(names, ", "),
                                     "; the placement was not recorded"));
  }
  store::LicenseSeat seat;
  seat.pool = best->name;
  seat.vm = vm;
  seat.leased_at = now;
  GPUFLEET_RETURN_IF_ERROR(tx.CreateLicenseSeat(seat));
  *pool = best->name;
  return absl::OkStatus();
}

absl::Status Licenses::AddRoutes(api::Router& router) {
  using api::Access;
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/licenses", Access::Viewer(),
                                      [this](const api::Request& r) { return Get(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("PUT", "/api/v1/licenses/pools/{pool}", Access::Admin(),
                                      [this](const api::Request& r) { return PutPool(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("DELETE", "/api/v1/licenses/pools/{pool}", Access::Admin(),
                                      [this](const api::Request& r) { return DeletePool(r); }));
  return router.Add("PUT", "/api/v1/hosts/{host}/leases/{vm}",
                    Access::AgentOwnHost("host").Or(api::Role::kAdmin),
                    [this](const api::Request& r) { return PutLease(r); });
}

api::Response Licenses::Get(const api::Request&) {
  const absl::Time now = context_.clock->Now();
  nlohmann::json out;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicensePool> pools, tx.ListLicensePools());
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicenseSeat> seats, tx.ListLicenseSeats());
    std::map<std::string, int> used;
    for (const store::LicenseSeat& seat : seats) ++used[seat.pool];
    std::map<std::string, std::pair<int, int>> editions;  // edition -> (seats, used)
    std::map<std::string, std::string> edition_of_pool;
    nlohmann::json pool_items = nlohmann::json::array();
    for (const store::LicensePool& p : pools) {
      edition_of_pool[p.name] = p.edition;
      editions[p.edition].first += p.seats;
      editions[p.edition].second += used[p.name];
      pool_items.push_back({{"name", p.name},
                            {"edition", p.edition},
                            {"seats", p.seats},
                            {"used", used[p.name]},
                            {"version", p.version}});
    }
    nlohmann::json edition_items = nlohmann::json::array();
    for (const auto& [edition, n] : editions) {
      edition_items.push_back({{"edition", edition},
                               {"seats", n.first},
                               {"used", n.second},
                               {"free", std::max(0, n.first - n.second)}});
    }
    nlohmann::json seat_items = nlohmann::json::array();
    for (const store::LicenseSeat& seat : seats) {
      nlohmann::json j = {{"pool", seat.pool},
                          {"edition", edition_of_pool[seat.pool]},
                          {"vm", seat.vm},
                          {"leased_at", TimeText(seat.leased_at)},
                          {"expires_at", TimeOrNull(seat.expires_at)},
                          {"lease", LeaseState(seat.expires_at, now)}};
      j["expires_in_seconds"] = seat.expires_at
                                    ? nlohmann::json(absl::ToInt64Seconds(*seat.expires_at - now))
                                    : nlohmann::json(nullptr);
      seat_items.push_back(std::move(j));
    }
    out = {{"editions", edition_items}, {"pools", pool_items}, {"seats", seat_items}};
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(out);
}

api::Response Licenses::PutPool(const api::Request& request) {
  const std::string name(request.PathParam("pool"));
  if (absl::Status s = CheckName(name, "pool"); !s.ok()) return api::Response::Error(s);
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<LicensePoolRequest> decoded = DecodeLicensePoolRequest(*body, *context_.catalog);
  if (!decoded.ok()) return api::Response::Error(decoded.status());
  const std::string& edition = decoded->edition;
  const int seats = decoded->seats;
  const std::string actor = ActorOf(request);
  const absl::Time now = context_.clock->Now();
  store::LicensePool pool;
  bool created = false;
  absl::Status s = context_.placement->Locked([&](FleetState&) -> absl::Status {
    absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      created = false;
      absl::StatusOr<store::LicensePool> existing = tx.GetLicensePool(name);
      if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
      GPUFLEET_ASSIGN_OR_RETURN(auto used, UsedByPool(tx));
      const int held = used[name];
      if (existing.ok()) {
        GPUFLEET_RETURN_IF_ERROR(api::CheckIfMatch(request, existing->version));
        if (existing->edition != edition && held > 0) {
          return WithField(absl::FailedPreconditionError(StrCat(
                               "pool ", name, " is ", existing->edition, " with ", held,
                               " seats held: its edition cannot change while VMs hold them")),
                           "edition");
        }
        if (seats < held) {
          return WithField(absl::FailedPreconditionError(StrCat(
                               "pool ", name, " has ", held, " seats held by VMs; it cannot ",
                               "shrink to ", seats, " (delete VMs, or add a pool first)")),
                           "seats");
        }
        pool = *existing;
      } else {
        created = true;
        pool = store::LicensePool{};
        pool.name = name;
      }
      pool.edition = edition;
      pool.seats = seats;
      GPUFLEET_RETURN_IF_ERROR(created ? tx.CreateLicensePool(pool) : tx.UpdateLicensePool(pool));
      int seated = 0;
      GPUFLEET_RETURN_IF_ERROR(SeatUnseated(tx, *context_.catalog, edition, now, &seated));
      return AppendEvent(
          tx, created ? "license.pool.created" : "license.pool.updated",
          StrCat("license-pool/", name), actor,
          StrCat("license pool ", name, ": ", seats, " ", edition, " seats",
                 seated > 0 ? StrCat("; ", seated, " running VM(s) took a seat") : std::string()));
    });
    if (!written.ok()) return written;
    return context_.placement->RebuildLocked();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"name", pool.name},
                              {"edition", pool.edition},
                              {"seats", pool.seats},
                              {"version", pool.version}},
                             created ? 201 : 200)
      .SetETag(pool.version);
}

api::Response Licenses::DeletePool(const api::Request& request) {
  const std::string name(request.PathParam("pool"));
  const std::string actor = ActorOf(request);
  absl::Status s = context_.placement->Locked([&](FleetState&) -> absl::Status {
    absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(store::LicensePool pool, tx.GetLicensePool(name));
      GPUFLEET_RETURN_IF_ERROR(api::CheckIfMatch(request, pool.version));
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicenseSeat> seats, tx.ListLicenseSeats(name));
      if (!seats.empty()) {
        std::vector<std::string> vms;
        for (const store::LicenseSeat& seat : seats) vms.push_back(seat.vm);
        if (vms.size() > 5) vms.resize(5);
        return absl::FailedPreconditionError(
            StrCat("pool ", name, " has ", seats.size(), " seats held (", StrJoin(vms, ", "),
                   seats.size() > 5 ? ", ..." : "", "): delete those VMs first"));
      }
      GPUFLEET_RETURN_IF_ERROR(tx.DeleteLicensePool(name, pool.version));
      return AppendEvent(
          tx, "license.pool.deleted", StrCat("license-pool/", name), actor,
          StrCat("license pool ", name, " (", pool.seats, " ", pool.edition, " seats) deleted"));
    });
    if (!written.ok()) return written;
    return context_.placement->RebuildLocked();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::NoContent();
}

api::Response Licenses::PutLease(const api::Request& request) {
  const std::string host(request.PathParam("host"));
  const std::string vm(request.PathParam("vm"));
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<LeaseReport> decoded = DecodeLeaseReport(*body);
  if (!decoded.ok()) return api::Response::Error(decoded.status());
  const int seconds = decoded->expires_in_seconds;
  const std::string actor = ActorOf(request);
  const absl::Time now = context_.clock->Now();
  store::LicenseSeat saved;
  absl::Status s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(auto instances,
                              tx.ListDesiredInstances({.host = "", .gpu = "", .vm = vm}));
    if (instances.empty() || instances.front().host != host) {
      return WithField(
          absl::NotFoundError(StrCat("vm ", QuoteForMessage(vm), " does not run on ", host)), "vm");
    }
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicenseSeat> seats, tx.ListLicenseSeats());
    auto seat = std::find_if(seats.begin(), seats.end(),
                             [&](const store::LicenseSeat& x) { return x.vm == vm; });
    if (seat == seats.end()) {
      return absl::FailedPreconditionError(
          StrCat("vm ", vm,
                 " holds no seat: no license pool serves its edition (add one with "
                 "PUT /api/v1/licenses/pools/{pool})"));
    }
    const std::string before = LeaseState(seat->expires_at, now);
    // The loss was told already when the last report said so too (a lease reported as ending
    // at its report time), or when the sweep announced this lease's expiry (license.expired).
    const bool told =
        seat->expires_at.has_value() && (*seat->expires_at <= seat->updated_at + absl::Seconds(1) ||
                                         ExpiryAnnounced(vm, *seat->expires_at));
    seat->expires_at = now + absl::Seconds(seconds);
    GPUFLEET_RETURN_IF_ERROR(tx.UpdateLicenseSeat(*seat));
    saved = *seat;
    const std::string after = LeaseState(saved.expires_at, now);
    const bool lost = after == "expired" && !told;
    const bool gained = after != "expired" && (before == "expired" || before == "unknown");
    if (!lost && !gained) return absl::OkStatus();
    return AppendEvent(tx, lost ? "license.lost" : "license.acquired", StrCat("vm/", vm), actor,
                       lost ? StrCat("vm ", vm,
                                     " has no license lease: an unlicensed guest "
                                     "runs at 3 fps with CUDA disabled")
                            : StrCat("vm ", vm, " holds a license lease from pool ", saved.pool,
                                     " for ", seconds, " s"));
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"pool", saved.pool},
                              {"vm", saved.vm},
                              {"expires_at", TimeOrNull(saved.expires_at)},
                              {"lease", LeaseState(saved.expires_at, now)}});
}

bool Licenses::ExpiryAnnounced(const std::string& vm, absl::Time expires) {
  std::lock_guard<std::mutex> lock(sweep_mu_);
  auto it = warned_expired_.find(vm);
  return it != warned_expired_.end() && it->second == expires;
}

absl::Status Licenses::SweepLeases(absl::Duration every) {
  std::lock_guard<std::mutex> lock(sweep_mu_);
  const absl::Time now = context_.clock->Now();
  if (now - last_sweep_ < every) return absl::OkStatus();
  last_sweep_ = now;
  std::vector<store::LicenseSeat> seats;
  std::map<std::string, std::string> edition_of;
  GPUFLEET_RETURN_IF_ERROR(context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicensePool> pools, tx.ListLicensePools());
    for (const store::LicensePool& p : pools) edition_of[p.name] = p.edition;
    GPUFLEET_ASSIGN_OR_RETURN(seats, tx.ListLicenseSeats());
    return absl::OkStatus();
  }));
  struct Warning {
    std::string kind;
    std::string vm;
    std::string message;
    nlohmann::json data;
  };
  std::vector<Warning> warnings;
  std::set<std::string> present;
  for (const store::LicenseSeat& seat : seats) {
    present.insert(seat.vm);
    if (!seat.expires_at.has_value()) continue;
    const absl::Time expires = *seat.expires_at;
    const std::string state = LeaseState(expires, now);
    const std::string& edition = edition_of[seat.pool];
    nlohmann::json data = {{"edition", edition}, {"expires_at", TimeText(expires)}};
    if (state == "expiring" && warned_expiring_[seat.vm] != expires) {
      warned_expiring_[seat.vm] = expires;
      warnings.push_back(
          {"license.expiring", seat.vm,
           StrCat("the ", edition, " lease of vm ", seat.vm, " ends in ",
                  absl::ToInt64Minutes(expires - now),
                  " min and is not being renewed: check the guest's license client and the "
                  "license server; unlicensed, it will run at 3 fps with CUDA disabled"),
           data});
    } else if (state == "expired" && warned_expired_[seat.vm] != expires &&
               expires > seat.updated_at + absl::Seconds(1)) {
      // (A lease reported as already gone has had its license.lost event.)
      warned_expired_[seat.vm] = expires;
      warnings.push_back(
          {"license.expired", seat.vm,
           StrCat("the ", edition, " lease of vm ", seat.vm, " ran out at ", TimeText(expires),
                  " with no renewal reported: the guest runs unlicensed (3 fps, "
                  "CUDA disabled)"),
           data});
    }
  }
  std::erase_if(warned_expiring_, [&](const auto& kv) { return !present.contains(kv.first); });
  std::erase_if(warned_expired_, [&](const auto& kv) { return !present.contains(kv.first); });
  if (warnings.empty()) return absl::OkStatus();
  return context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    for (const Warning& w : warnings) {
      GPUFLEET_RETURN_IF_ERROR(AppendEvent(tx, w.kind, StrCat("vm/", w.vm), "", w.message, w.data));
    }
    return absl::OkStatus();
  });
}

absl::Status Licenses::RegisterMetrics(api::MetricsRegistry& metrics) {
  GPUFLEET_ASSIGN_OR_RETURN(
      seats_, metrics.AddGauge("gpufleet_license_seats",
                               "License seats per edition: total in the pools, and used by VMs",
                               {"edition", "state"}));
  GPUFLEET_ASSIGN_OR_RETURN(
      expiry_, metrics.AddGauge("gpufleet_license_lease_expiry_seconds",
                                "Seconds until a VM's license lease expires, as its agent last "
                                "reported (negative once expired)",
                                {"vm", "edition"}));
  metrics.AddCollector([this] { CollectMetrics(); });
  return absl::OkStatus();
}

void Licenses::CollectMetrics() {
  const absl::Time now = context_.clock->Now();
  std::vector<std::pair<api::LabelValues, double>> seats;
  std::vector<std::pair<api::LabelValues, double>> expiry;
  (void)context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicensePool> pools, tx.ListLicensePools());
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::LicenseSeat> held, tx.ListLicenseSeats());
    std::map<std::string, std::string> edition_of;
    std::map<std::string, std::pair<int, int>> by_edition;
    for (const store::LicensePool& p : pools) {
      edition_of[p.name] = p.edition;
      by_edition[p.edition].first += p.seats;
    }
    for (const store::LicenseSeat& s : held) {
      ++by_edition[edition_of[s.pool]].second;
      if (s.expires_at) {
        expiry.push_back({{s.vm, edition_of[s.pool]}, absl::ToDoubleSeconds(*s.expires_at - now)});
      }
    }
    for (const auto& [edition, n] : by_edition) {
      seats.push_back({{edition, "total"}, static_cast<double>(n.first)});
      seats.push_back({{edition, "used"}, static_cast<double>(n.second)});
    }
    return absl::OkStatus();
  });
  if (seats_ != nullptr) seats_->ReplaceAll(seats);
  if (expiry_ != nullptr) expiry_->ReplaceAll(expiry);
}

}  // namespace gpufleet::controller
