#ifndef GPUFLEET_COMMON_STATUS_FIELD_H_
#define GPUFLEET_COMMON_STATUS_FIELD_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace gpufleet {

// The input field an error is about ("limit", "spec.vgpu_type", "If-Match"), carried on the
// absl::Status as a payload so that it survives being returned through layers unchanged. The API
// layer puts it in the error body as "field"; a field path uses the JsonReader spelling.

// `status` with its field set (replacing any earlier one). An OK status is returned unchanged:
// absl::Status cannot carry payloads when OK.
[[nodiscard]] absl::Status WithField(absl::Status status, std::string_view field);

// InvalidArgument "FIELD: WHY" with FIELD attached: the usual rejection of a request field.
[[nodiscard]] absl::Status InvalidField(std::string_view field, std::string_view why);

// The field attached by WithField, or nullopt when there is none.
[[nodiscard]] std::optional<std::string> FieldOf(const absl::Status& status);

}  // namespace gpufleet

#endif  // GPUFLEET_COMMON_STATUS_FIELD_H_
