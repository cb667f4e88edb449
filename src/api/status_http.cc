#include "api/status_http.h"

#include "common/status_field.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kFailedPrecondition:
      return FieldOf(status) == "If-Match" ? 412 : 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::string ErrorCodeFor(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  return name.empty() ? "UNKNOWN" : name;
}

std::string PublicMessageFor(const absl::Status& status) {
  if (HttpStatusFor(status) == 500) return "internal error";
  return std::string(ToStd(status.message()));
}

std::string ErrorBodyJson(std::string_view code, std::string_view message,
                          const std::optional<std::string>& field) {
  nlohmann::json body = nlohmann::json::object();
  body["code"] = code;
  body["message"] = message;
  if (field.has_value()) body["field"] = *field;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gpufleet::api
