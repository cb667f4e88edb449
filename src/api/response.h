#ifndef GPUFLEET_API_RESPONSE_H_
#define GPUFLEET_API_RESPONSE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/request.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {

// One Server-Sent Event. `id` lets a reconnecting client resume with Last-Event-ID; `event` is
// the event type (empty: "message"). `data` may span lines.
struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};

// The wire form of an event ("id: 7\nevent: vm\ndata: {...}\n\n"). Line breaks in id and event
// are dropped (they would end the field); a multi-line data becomes several data: lines.
[[nodiscard]] std::string FormatSseEvent(const SseEvent& event);

// The producer's end of an event stream, handed to the StreamOpener of a streaming response.
// Thread-safe: the controller may call it from any thread, and may keep it as long as it likes.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Queues an event for the client. Returns false once the stream has ended: the client went
  // away, the server is stopping, the client fell too far behind (the queue overflowed), or
  // Close() was called. The producer should then drop the sink.
  virtual bool Send(SseEvent event) = 0;
  // Ends the stream after the queued events are written.
  virtual void Close() = 0;
  [[nodiscard]] virtual bool is_open() const = 0;
  // Runs `fn` once when the stream ends for any reason, on a server thread (or at once, on the
  // calling thread, when it has already ended). `fn` must not block.
  virtual void OnClose(std::function<void()> fn) = 0;
};

// Called once, on a server worker thread, after the stream's headers were sent. It typically
// sends the events after the request's Last-Event-ID and subscribes the sink to new ones. It
// must not block for long.
using StreamOpener = std::function<void(std::shared_ptr<EventSink>)>;

// What a handler returns. A plain value; the helpers below build the usual shapes.
struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, the response is a Server-Sent Events stream (text/event-stream, chunked); `body`
  // is ignored and the connection closes when the stream ends.
  StreamOpener event_stream;
  // Written to the server's error log, never sent: why this response is a 500.
  std::string internal_detail;

  // `body` serialized, with Content-Type application/json.
  [[nodiscard]] static Response Json(const nlohmann::json& body, int status = 200);
  [[nodiscard]] static Response Text(std::string body, int status = 200,
                                     std::string_view content_type = "text/plain; charset=utf-8");
  [[nodiscard]] static Response NoContent();
  // The error body for `status` with its HTTP mapping (status_http.h). 5xx internals go to
  // internal_detail, not to the client.
  [[nodiscard]] static Response Error(const absl::Status& status);
  // An error that has no absl::Status, e.g. 405 or 413: {"code": code, "message": message}.
  [[nodiscard]] static Response Error(int http_status, std::string_view code,
                                      std::string_view message,
                                      std::optional<std::string> field = std::nullopt);
  // Json(*result, ok_status) or Error(result.status()).
  [[nodiscard]] static Response FromStatusOr(const absl::StatusOr<nlohmann::json>& result,
                                             int ok_status = 200);
  [[nodiscard]] static Response EventStream(StreamOpener opener);

  Response& SetHeader(std::string name, std::string value) {
    headers.Set(std::move(name), std::move(value));
    return *this;
  }
  // ETag: "v<version>".
  Response& SetETag(std::int64_t version) { return SetHeader("ETag", ETagForVersion(version)); }
};

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_RESPONSE_H_
