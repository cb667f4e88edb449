#ifndef GPUFLEET_CONTROLLER_LICENSE_BODIES_H_
#define GPUFLEET_CONTROLLER_LICENSE_BODIES_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"

namespace gpufleet::controller {

// The body of PUT /api/v1/licenses/pools/{pool}: {"edition": EDITION, "seats": 0..100000}.
struct LicensePoolRequest {
  std::string edition;  // the catalog's id of the edition ("vWS"), whatever the case given
  int seats = 0;

  bool operator==(const LicensePoolRequest&) const = default;

  [[nodiscard]] nlohmann::json ToJson() const;
};

// The body of PUT /api/v1/hosts/{host}/leases/{vm}: {"expires_in_seconds": 0..31 days}, the
// time left on the VM's license lease as its agent sees it (0: expired).
struct LeaseReport {
  int expires_in_seconds = 0;

  bool operator==(const LeaseReport&) const = default;

  [[nodiscard]] nlohmann::json ToJson() const;
};

// Decoders for the bodies above: shape, ranges, an edition the catalog knows. Errors are
// InvalidArgument with the field attached (status_field.h): "edition", "seats",
// "expires_in_seconds", an unknown key, or "body" for a body that is not an object.
absl::StatusOr<LicensePoolRequest> DecodeLicensePoolRequest(const nlohmann::json& body,
                                                            const core::Catalog& catalog);
absl::StatusOr<LeaseReport> DecodeLeaseReport(const nlohmann::json& body);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_LICENSE_BODIES_H_
