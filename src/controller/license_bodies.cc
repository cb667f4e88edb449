#include "controller/license_bodies.h"

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::controller {
namespace {

constexpr int kMaxSeats = 100000;
constexpr int kMaxLeaseSeconds = 31 * 24 * 3600;

}  // namespace

nlohmann::json LicensePoolRequest::ToJson() const {
  return {{"edition", edition}, {"seats", seats}};
}

nlohmann::json LeaseReport::ToJson() const { return {{"expires_in_seconds", expires_in_seconds}}; }

absl::StatusOr<LicensePoolRequest> DecodeLicensePoolRequest(const nlohmann::json& body,
                                                            const core::Catalog& catalog) {
  JsonReader r(body, "");
  const std::string edition = r.String("edition");
  LicensePoolRequest out;
  out.seats = r.Int("seats", 0, kMaxSeats);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  const core::Edition* known = catalog.FindEdition(edition);
  if (known == nullptr) {
    return WithField(absl::InvalidArgumentError(StrCat("edition: ", QuoteForMessage(edition),
                                                       " is not one of vWS, vCS, vPC, vApps")),
                     "edition");
  }
  out.edition = known->id;
  return out;
}

absl::StatusOr<LeaseReport> DecodeLeaseReport(const nlohmann::json& body) {
  JsonReader r(body, "");
  LeaseReport out;
  out.expires_in_seconds = r.Int("expires_in_seconds", 0, kMaxLeaseSeconds);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  return out;
}

}  // namespace gpufleet::controller
