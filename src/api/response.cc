#include "api/response.h"

#include "api/status_http.h"
#include "common/status_field.h"
#include "common/strings.h"

namespace gpufleet::api {
namespace {

std::string WithoutLineBreaks(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\n' && c != '\r') out.push_back(c);
  }
  return out;
}

}  // namespace

std::string FormatSseEvent(const SseEvent& event) {
  std::string out;
  if (!event.id.empty()) StrAppend(&out, "id: ", WithoutLineBreaks(event.id), "\n");
  if (!event.event.empty()) StrAppend(&out, "event: ", WithoutLineBreaks(event.event), "\n");
  std::string_view data = event.data;
  // "\r\n", "\r" and "\n" all end a line in the SSE grammar.
  std::size_t start = 0;
  for (std::size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || data[i] == '\n' || data[i] == '\r') {
      StrAppend(&out, "data: ", data.substr(start, i - start), "\n");
      if (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  out += "\n";
  return out;
}

Response Response::Json(const nlohmann::json& body, int status) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.headers.Set("Content-Type", "application/json");
  return r;
}

Response Response::Text(std::string body, int status, std::string_view content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.Set("Content-Type", std::string(content_type));
  return r;
}

Response Response::NoContent() {
  Response r;
  r.status = 204;
  return r;
}

Response Response::Error(const absl::Status& status) {
  int http = HttpStatusFor(status);
  std::optional<std::string> field = http >= 500 && http != 503 ? std::nullopt : FieldOf(status);
  Response r = Error(http, ErrorCodeFor(status.code()), PublicMessageFor(status), field);
  if (http >= 500) r.internal_detail = status.ToString();
  return r;
}

Response Response::Error(int http_status, std::string_view code, std::string_view message,
                         std::optional<std::string> field) {
  Response r;
  r.status = http_status;
  r.body = ErrorBodyJson(code, message, field);
  r.headers.Set("Content-Type", "application/json");
  return r;
}

Response Response::FromStatusOr(const absl::StatusOr<nlohmann::json>& result, int ok_status) {
  if (!result.ok()) return Error(result.status());
  return Json(*result, ok_status);
}

Response Response::EventStream(StreamOpener opener) {
  Response r;
  r.status = 200;
  r.event_stream = std::move(opener);
  return r;
}

}  // namespace gpufleet::api
