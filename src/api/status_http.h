#ifndef GPUFLEET_API_STATUS_HTTP_H_
#define GPUFLEET_API_STATUS_HTTP_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace gpufleet::api {

// The one mapping from absl::Status to HTTP. The rule:
//
//   InvalidArgument 400, Unauthenticated 401, PermissionDenied 403, NotFound 404,
//   AlreadyExists 409, Aborted 409 (a concurrent change; retry),
//   FailedPrecondition 412 when its field (common/status_field.h) is "If-Match" -- the client's
//     own precondition failed, see VersionMismatchError() in request.h -- and 409 otherwise
//     (the resource's state does not allow the action, e.g. deleting a host with VMs),
//   ResourceExhausted 429, Unavailable 503, everything else (including OK) 500.
[[nodiscard]] int HttpStatusFor(const absl::Status& status);

// The "code" of the error body: absl's canonical name, e.g. "INVALID_ARGUMENT", "NOT_FOUND".
[[nodiscard]] std::string ErrorCodeFor(absl::StatusCode code);

// The client-visible message: the status message for 4xx and 503, and always "internal error"
// for 500, so that internals (paths, SQL, exception text) never reach a client.
[[nodiscard]] std::string PublicMessageFor(const absl::Status& status);

// The error body every error response has: {"code": "...", "message": "...", "field": "..."},
// "field" only when known. Serialized compactly, with invalid UTF-8 replaced.
[[nodiscard]] std::string ErrorBodyJson(std::string_view code, std::string_view message,
                                        const std::optional<std::string>& field);

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_STATUS_HTTP_H_
