#include "controller/auth_bodies.h"

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "controller/context.h"

namespace gpufleet::controller {
namespace {

std::optional<int> ReadTtl(JsonReader& reader) {
  return reader.OptInt("expires_in_seconds", 1, kMaxTokenTtlSeconds);
}

void WriteTtl(nlohmann::json& out, const std::optional<int>& ttl) {
  if (ttl.has_value()) out["expires_in_seconds"] = *ttl;
}

}  // namespace

nlohmann::json TokenRequest::ToJson() const {
  nlohmann::json out = {{"name", name}, {"role", store::RoleName(role)}};
  WriteTtl(out, expires_in_seconds);
  return out;
}

nlohmann::json EnrolmentTokenRequest::ToJson() const {
  nlohmann::json out = {{"host", host}};
  WriteTtl(out, expires_in_seconds);
  return out;
}

nlohmann::json EnrolRequest::ToJson() const { return {{"token", token}}; }

absl::StatusOr<TokenRequest> DecodeTokenRequest(const nlohmann::json& body) {
  JsonReader reader(body, "");
  TokenRequest out;
  out.name = reader.String("name");
  const std::string role = reader.String("role");
  out.expires_in_seconds = ReadTtl(reader);
  GPUFLEET_RETURN_IF_ERROR(reader.Finish());
  absl::StatusOr<store::Role> parsed = store::ParseRole(role);
  if (!parsed.ok()) return WithField(parsed.status(), "role");
  out.role = *parsed;
  GPUFLEET_RETURN_IF_ERROR(CheckName(out.name, "name"));
  return out;
}

absl::StatusOr<EnrolmentTokenRequest> DecodeEnrolmentTokenRequest(const nlohmann::json& body) {
  JsonReader reader(body, "");
  EnrolmentTokenRequest out;
  out.host = reader.String("host");
  out.expires_in_seconds = ReadTtl(reader);
  GPUFLEET_RETURN_IF_ERROR(reader.Finish());
  GPUFLEET_RETURN_IF_ERROR(CheckName(out.host, "host"));
  return out;
}

absl::StatusOr<EnrolRequest> DecodeEnrolRequest(const nlohmann::json& body) {
  JsonReader reader(body, "");
  EnrolRequest out;
  out.token = reader.String("token");
  GPUFLEET_RETURN_IF_ERROR(reader.Finish());
  return out;
}

}  // namespace gpufleet::controller
