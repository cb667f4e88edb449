#ifndef GPUFLEET_BACKENDS_SIM_LICENSE_SERVER_H_
#define GPUFLEET_BACKENDS_SIM_LICENSE_SERVER_H_

#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "backends/sim/scenario.h"

namespace gpufleet::backends::sim {

// Seats of one edition on the simulated license server.
struct PoolUsage {
  int seats = 0;
  int leased = 0;
  bool operator==(const PoolUsage&) const = default;
};

// The simulated license server (NVIDIA DLS/CLS): pools of seats per edition and leases per
// client. A lease is granted for LicenseServerSpec::lease and renewed by the client; a lease that
// is not renewed ends at its expiry and frees its seat (a crashed guest keeps its seat until
// then). A server that is down grants and renews nothing. Not thread-safe: SimCluster guards it.
class LicenseServer {
 public:
  explicit LicenseServer(LicenseServerSpec spec) : spec_(std::move(spec)) {}

  // Grants or renews `client`'s lease of `edition` at `now`: the new expiry, or nullopt when the
  // server is down or the pool has no free seat. Expired leases are dropped first.
  std::optional<absl::Time> Acquire(const std::string& client, const std::string& edition,
                                    absl::Time now);
  // The client returns its lease (a clean guest shutdown).
  void Release(const std::string& client);
  // The lease a client holds at `now`, if any.
  [[nodiscard]] std::optional<absl::Time> ExpiryOf(const std::string& client, absl::Time now) const;
  [[nodiscard]] std::map<std::string, PoolUsage> Usage(absl::Time now) const;

  void set_up(bool up) { up_ = up; }
  [[nodiscard]] bool up() const { return up_; }
  [[nodiscard]] const LicenseServerSpec& spec() const { return spec_; }

 private:
  struct Lease {
    std::string edition;
    absl::Time expires;
  };
  void DropExpired(absl::Time now);

  LicenseServerSpec spec_;
  bool up_ = true;
  std::map<std::string, Lease> leases_;  // by client
};

}  // namespace gpufleet::backends::sim

#endif  // GPUFLEET_BACKENDS_SIM_LICENSE_SERVER_H_
