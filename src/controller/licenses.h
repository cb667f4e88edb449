#ifndef GPUFLEET_CONTROLLER_LICENSES_H_
#define GPUFLEET_CONTROLLER_LICENSES_H_

#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/metrics.h"
#include "api/router.h"
#include "controller/context.h"
#include "core/catalog.h"
#include "store/store.h"

namespace gpufleet::controller {

// The license ledger: pools of seats per edition (vWS for Q, vCS for C, vPC for B, vApps for A
// profiles), the seat each placed VM holds, and the lease each guest reports. Thread-safe.
//
// Seats: when a pool serves a VM's edition, placing the VM takes one seat of such a pool (the
// one with most free seats) in the same transaction; deleting the VM returns it. The planner
// counts the pools' seats per edition (an edition without a pool is not limited), so a VM whose
// edition is out of seats is refused with that reason. Leases: the guest's license client
// holds a lease that expires unless renewed; the agent of the VM's host reports its expiry.
//
// Routes:
//   GET    /api/v1/licenses                  viewer: per edition seats/used/free, the pools,
//                                            every seat with its lease (expires_in_seconds)
//   PUT    /api/v1/licenses/pools/{pool}     admin: {"edition": "vWS", "seats": 16}; 201 or 200;
//                                            If-Match; 409 below the seats in use
//   DELETE /api/v1/licenses/pools/{pool}     admin: 409 while any of its seats is held
//   PUT    /api/v1/hosts/{host}/leases/{vm}  the agent of {host}, or admin: {"expires_in_seconds":
//                                            N} (0: the guest has no lease); the VM must run there
class Licenses {
 public:
  explicit Licenses(Context context) : context_(context) {}

  absl::Status AddRoutes(api::Router& router);
  // gpufleet_license_seats{edition,state=used|total} and
  // gpufleet_license_lease_expiry_seconds{vm,edition} (negative once expired).
  absl::Status RegisterMetrics(api::MetricsRegistry& metrics);

  // The controller's own warnings, from its clock (run by the liveness sweep; at most once per
  // `every`): `license.expiring` once when a reported lease has less than an hour left (license
  // clients renew long before that, so this one is not being renewed), `license.expired` once
  // when it has run out with no new report. Each is raised once per reported expiry time.
  absl::Status SweepLeases(absl::Duration every = absl::Seconds(10));

 private:
  api::Response Get(const api::Request& request);
  api::Response PutPool(const api::Request& request);
  api::Response DeletePool(const api::Request& request);
  api::Response PutLease(const api::Request& request);
  void CollectMetrics();
  bool ExpiryAnnounced(const std::string& vm, absl::Time expires);

  Context context_;
  std::mutex sweep_mu_;
  absl::Time last_sweep_ = absl::InfinitePast();
  // vm -> the expiry time already announced as expiring / expired.
  std::map<std::string, absl::Time> warned_expiring_;
  std::map<std::string, absl::Time> warned_expired_;
  api::GaugeFamily* seats_ = nullptr;
  api::GaugeFamily* expiry_ = nullptr;
};

// The edition a VM's license comes from: `license` when given, else the edition of the type's
// series ("" when the catalog has none).
[[nodiscard]] std::string EditionOf(const core::Catalog& catalog, const std::string& license,
                                    const core::VgpuType* type);

// Seats per edition over every pool (planner::Cluster::license_seats).
absl::StatusOr<std::map<std::string, int>> SeatsByEdition(store::ReadTx& tx);

// Within the VM's placement transaction: takes a seat for `vm` in a pool of `edition` with room
// (most free first). OK and nothing when no pool serves the edition; Aborted when every pool of
// it is full (another placement took the last seat). Sets *pool to the pool used ("" if none).
absl::Status AssignSeat(store::WriteTx& tx, const std::string& vm, const std::string& edition,
                        absl::Time now, std::string* pool);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_LICENSES_H_
