// Fuzzes the controller's request DTO decoders: the body of POST /api/v1/operations
// (DecodeOperationRequest), of POST /api/v1/vms (DecodeVmSpec, then ToPlannerVm), of PUT
// /api/v1/hosts/{host}/instances (DecodeInstancesReport), of POST
// /api/v1/hosts/{host}/telemetry (DecodeTelemetryReport), of PUT /api/v1/hosts/{host}
// (DecodeHostReport), of POST /api/v1/tokens (DecodeTokenRequest), of POST
// /api/v1/enrolment-tokens (DecodeEnrolmentTokenRequest), of POST /api/v1/agents/enrol
// (DecodeEnrolRequest), of PUT /api/v1/licenses/pools/{pool} (DecodeLicensePoolRequest) and of
// PUT /api/v1/hosts/{host}/leases/{vm} (DecodeLeaseReport). Every decoder gets every input, fed
// as a JSON body through the API's own depth-limited parser. Beyond "no crash, no sanitizer
// report": every rejection is InvalidArgument with a message and names its field; an accepted
// request round-trips (its canonical JSON decodes to the same request), and an accepted VM spec
// re-encodes to a spec that decodes again.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "api/json_body.h"
#include "common/status_field.h"
#include "common/strings.h"
#include "controller/agent_sync.h"
#include "controller/auth_bodies.h"
#include "controller/host_report.h"
#include "controller/license_bodies.h"
#include "controller/operation_request.h"
#include "controller/telemetry.h"
#include "controller/vm_spec.h"
#include "core/catalog.h"
#include "fuzz_check.h"

namespace gpufleet::controller {
namespace {

using fuzz::Check;

void CheckRejection(const absl::Status& s, std::string_view what, std::string_view input) {
  Check(s.code() == absl::StatusCode::kInvalidArgument,
        StrCat(what, ": rejections are InvalidArgument"), input);
  Check(!s.message().empty(), StrCat(what, ": rejections carry a message"), input);
  Check(FieldOf(s).has_value(), StrCat(what, ": rejections name their field"), input);
}

void FuzzOperation(const nlohmann::json& body, std::string_view input) {
  const core::Catalog& catalog = core::Catalog::Embedded();
  absl::StatusOr<OperationRequest> r = DecodeOperationRequest(body, catalog);
  if (!r.ok()) return CheckRejection(r.status(), "operation request", input);
  nlohmann::json canonical = r->ToJson();
  absl::StatusOr<OperationRequest> again = DecodeOperationRequest(canonical, catalog);
  Check(again.ok(), "an accepted operation request's canonical form decodes", input);
  Check(again->ToJson() == canonical, "the canonical form is a fixed point", input);
}

void FuzzVmSpec(const nlohmann::json& body, std::string_view input) {
  const core::Catalog& catalog = core::Catalog::Embedded();
  absl::StatusOr<VmSpec> spec = DecodeVmSpec(body, catalog);
  if (!spec.ok()) return CheckRejection(spec.status(), "vm spec", input);
  nlohmann::json encoded = EncodeVmSpec(*spec);
  absl::StatusOr<VmSpec> again = DecodeVmSpec(encoded, catalog);
  Check(again.ok(), "an accepted VM spec re-encodes to one that decodes", input);
  Check(EncodeVmSpec(*again) == encoded, "the encoded VM spec is a fixed point", input);
  (void)ToPlannerVm(*spec, catalog);
}

// An accepted body's canonical form decodes again and is a fixed point; where the decoded
// struct compares, it decodes to an equal struct.
template <typename Decode>
void FuzzBody(const nlohmann::json& body, std::string_view what, std::string_view input,
              Decode decode) {
  auto decoded = decode(body);
  if (!decoded.ok()) return CheckRejection(decoded.status(), what, input);
  nlohmann::json canonical = decoded->ToJson();
  auto again = decode(canonical);
  Check(again.ok(), StrCat(what, ": the canonical form decodes"), input);
  if constexpr (std::equality_comparable<std::decay_t<decltype(*decoded)>>) {
    Check(*again == *decoded, StrCat(what, ": the canonical form decodes to the same body"), input);
  }
  Check(again->ToJson() == canonical, StrCat(what, ": the canonical form is a fixed point"), input);
}

void FuzzAgentReports(const nlohmann::json& body, std::string_view input) {
  FuzzBody(body, "instances report", input, [](const nlohmann::json& j) {
    return DecodeInstancesReport(j, core::Catalog::Embedded());
  });
  FuzzBody(body, "telemetry report", input, DecodeTelemetryReport);
}

void FuzzHostAuthLicenseBodies(const nlohmann::json& body, std::string_view input) {
  FuzzBody(body, "host report", input,
           [](const nlohmann::json& j) { return DecodeHostReport(j, core::Catalog::Embedded()); });
  FuzzBody(body, "token request", input, DecodeTokenRequest);
  FuzzBody(body, "enrolment token request", input, DecodeEnrolmentTokenRequest);
  FuzzBody(body, "enrol request", input, DecodeEnrolRequest);
  FuzzBody(body, "license pool request", input, [](const nlohmann::json& j) {
    return DecodeLicensePoolRequest(j, core::Catalog::Embedded());
  });
  FuzzBody(body, "lease report", input, DecodeLeaseReport);
}

}  // namespace
}  // namespace gpufleet::controller

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > gpufleet::fuzz::kMaxFuzzInput) return -1;
  const std::string_view input = gpufleet::fuzz::AsText(data, size);
  absl::StatusOr<nlohmann::json> body = gpufleet::api::ParseJsonBody(input, 64);
  if (!body.ok()) return 0;
  gpufleet::controller::FuzzOperation(*body, input);
  gpufleet::controller::FuzzVmSpec(*body, input);
  gpufleet::controller::FuzzAgentReports(*body, input);
  gpufleet::controller::FuzzHostAuthLicenseBodies(*body, input);
  return 0;
}
