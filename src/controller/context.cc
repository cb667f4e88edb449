#include "controller/context.h"

#include "common/status_field.h"
#include "common/strings.h"

namespace gpufleet::controller {

std::string ActorOf(const api::Request& request) {
  return request.principal.has_value() ? request.principal->name : std::string();
}

absl::Status AppendEvent(store::WriteTx& tx, std::string_view kind, std::string_view object,
                         std::string_view actor, std::string_view message,
                         const nlohmann::json& data) {
  store::Event e;
  e.kind = std::string(kind);
  e.object = std::string(object);
  e.actor = std::string(actor);
  e.message = std::string(message);
  if (!data.is_null())
    e.data_json = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return tx.AppendEvent(e);
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

nlohmann::json TimeOrNull(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return nullptr;
  return TimeText(*t);
}

absl::Status CheckName(std::string_view name, std::string_view field) {
  auto fail = [&](std::string_view why) {
    return WithField(
        absl::InvalidArgumentError(StrCat(field, ": ", QuoteForMessage(name), " ", why)), field);
  };
  if (name.empty())
    return WithField(absl::InvalidArgumentError(StrCat(field, ": must not be empty")), field);
  if (name.size() > 253) return fail("is longer than 253 characters");
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front())) return fail("must start with a letter or digit");
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '-' && c != '_') {
      return fail("may only hold letters, digits, '.', '-' and '_'");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> JsonObjectBody(const api::Request& request) {
  absl::StatusOr<nlohmann::json> body = request.JsonBody();
  if (!body.ok()) return body.status();
  if (!body->is_object()) {
    return WithField(absl::InvalidArgumentError("request body: expected a JSON object"), "body");
  }
  return body;
}

}  // namespace gpufleet::controller
