#include "backends/sim/license_server.h"

#include <iterator>

namespace gpufleet::backends::sim {

void LicenseServer::DropExpired(absl::Time now) {
  std::erase_if(leases_, [&](const auto& entry) { return entry.second.expires <= now; });
}

std::optional<absl::Time> LicenseServer::Acquire(const std::string& client,
                                                 const std::string& edition, absl::Time now) {
  if (!up_) return std::nullopt;
  DropExpired(now);
  auto held = leases_.find(client);
  if (held != leases_.end() && held->second.edition != edition) {
    leases_.erase(held);
    held = leases_.end();
  }
  if (held == leases_.end()) {
    auto pool = spec_.pools.find(edition);
    const int seats = pool == spec_.pools.end() ? 0 : pool->second;
    if (Usage(now)[edition].leased >= seats) return std::nullopt;
    held = leases_.emplace(client, Lease{edition, now}).first;
  }
  held->second.expires = now + spec_.lease;
  return held->second.expires;
}

void LicenseServer::Release(const std::string& client) { leases_.erase(client); }

std::optional<absl::Time> LicenseServer::ExpiryOf(const std::string& client, absl::Time now) const {
  auto it = leases_.find(client);
  if (it == leases_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.expires;
}

std::map<std::string, PoolUsage> LicenseServer::Usage(absl::Time now) const {
  std::map<std::string, PoolUsage> usage;
  for (const auto& [edition, seats] : spec_.pools) usage[edition].seats = seats;
  for (const auto& [client, lease] : leases_) {
    if (lease.expires > now) ++usage[lease.edition].leased;
  }
  return usage;
}

}  // namespace gpufleet::backends::sim
