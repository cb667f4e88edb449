#include "common/status_field.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace gpufleet {
namespace {

// A type URL private to gpufleet; absl only requires it to be unique per payload kind.
constexpr char kFieldPayloadUrl[] = "type.gpufleet.dev/gpufleet.StatusField";

}  // namespace

absl::Status WithField(absl::Status status, std::string_view field) {
  if (status.ok()) return status;
  status.SetPayload(kFieldPayloadUrl, absl::Cord(absl::string_view(field.data(), field.size())));
  return status;
}

std::optional<std::string> FieldOf(const absl::Status& status) {
  auto payload = status.GetPayload(kFieldPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

absl::Status InvalidField(std::string_view field, std::string_view why) {
  std::string message(field);
  message += ": ";
  message += why;
  return WithField(absl::InvalidArgumentError(message), field);
}

}  // namespace gpufleet
