#ifndef GPUFLEET_CONTROLLER_AUTH_BODIES_H_
#define GPUFLEET_CONTROLLER_AUTH_BODIES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller {

// The longest lifetime a caller may give an API or enrolment token: ten years.
inline constexpr int kMaxTokenTtlSeconds = 10 * 365 * 24 * 3600;

// The body of POST /api/v1/tokens:
//   {"name": NAME, "role": "viewer" | "operator" | "admin", "expires_in_seconds"?: 1..10 years}
struct TokenRequest {
  std::string name;
  store::Role role = store::Role::kViewer;
  std::optional<int> expires_in_seconds;  // nullopt: the token never expires

  bool operator==(const TokenRequest&) const = default;

  // The canonical JSON form: expires_in_seconds omitted when unset.
  [[nodiscard]] nlohmann::json ToJson() const;
};

// The body of POST /api/v1/enrolment-tokens:
//   {"host": NAME, "expires_in_seconds"?: 1..10 years}
struct EnrolmentTokenRequest {
  std::string host;
  std::optional<int> expires_in_seconds;  // nullopt: the controller's default lifetime

  bool operator==(const EnrolmentTokenRequest&) const = default;

  // The canonical JSON form: expires_in_seconds omitted when unset.
  [[nodiscard]] nlohmann::json ToJson() const;
};

// The body of POST /api/v1/agents/enrol: {"token": ENROLMENT_TOKEN}.
struct EnrolRequest {
  std::string token;  // any string: whether it is a well-formed, valid token is the caller's

  bool operator==(const EnrolRequest&) const = default;

  [[nodiscard]] nlohmann::json ToJson() const;
};

// Decoders for the bodies above: shape, ranges, the role, and names (CheckName). Errors are
// InvalidArgument with the field attached (status_field.h): "name", "role", "host",
// "expires_in_seconds", "token", an unknown key, or "body" for a body that is not an object.
absl::StatusOr<TokenRequest> DecodeTokenRequest(const nlohmann::json& body);
absl::StatusOr<EnrolmentTokenRequest> DecodeEnrolmentTokenRequest(const nlohmann::json& body);
absl::StatusOr<EnrolRequest> DecodeEnrolRequest(const nlohmann::json& body);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_AUTH_BODIES_H_
