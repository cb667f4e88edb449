#ifndef GPUFLEET_CLI_CLIENT_H_
#define GPUFLEET_CLI_CLIENT_H_

// The CLI's HTTP client for the controller's REST API (docs/api/openapi.yaml), and the one adapter
// from transport and HTTP errors to absl::Status. cpp-httplib stays inside client.cc.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Client;
}

namespace gpufleet::cli {

struct ClientOptions {
  std::string server = {};                           // "http://host:port" or "https://host:port"
  std::string token = {};                            // sent as a Bearer token; never in a message
  std::optional<std::string> ca_pem = std::nullopt;  // https: these CAs instead of the system's
  std::string ca_file = {};                          // where ca_pem came from, for messages
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration read_timeout = absl::Seconds(30);
};

// One API call. `what` names it for messages ("vm create web-1"); `needs_role` is the role the
// route needs (openapi x-access), so that a 403 can say which token to ask for.
struct ApiCall {
  // Every member has a default so that calls can be written with designated initializers.
  std::string method = "GET";  // GET, POST, PUT, DELETE
  std::string path = {};       // "/api/v1/vms?limit=100", already escaped
  std::optional<nlohmann::json> body = std::nullopt;
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string what = {};
  std::string needs_role = "viewer";
};

struct ApiReply {
  int status = 0;
  nlohmann::json body;  // null for an empty body (204)
  std::string etag;
};

// The adapter: an HTTP error answer -> Status, with the server's {code, message, field} body.
// The code says what the CLI's exit code will be (OnlineExitCodeFor): 400 InvalidArgument, 401
// Unauthenticated, 403 PermissionDenied, 404 NotFound, 409 FailedPrecondition (AlreadyExists when
// the server says so), 412 Aborted, 429 ResourceExhausted, 503 Unavailable, others Internal. The
// message names the call and says what to do next; a 409's explanation is kept verbatim.
[[nodiscard]] absl::Status StatusFromHttp(int http_status, std::string_view body,
                                          const ApiCall& call, std::string_view server);

// Exit codes of the online commands: 0 ok, 1 refused by the controller (409/412), 2 bad input or
// auth (400/401/403/404, flags, configuration), 3 internal or unreachable.
[[nodiscard]] int OnlineExitCodeFor(const absl::Status& status);

// Incremental parser of a text/event-stream body. Feed() takes arbitrary chunks and calls the
// handler once per complete event with its id, event name and data lines joined by '\n'.
class SseParser {
 public:
  struct Event {
    std::string id;
    std::string event;
    std::string data;
  };
  explicit SseParser(std::function<void(const Event&)> on_event) : on_event_(std::move(on_event)) {}
  void Feed(std::string_view chunk);

 private:
  void Line(std::string_view line);

  std::function<void(const Event&)> on_event_;
  std::string buffer_;
  bool last_was_cr_ = false;
  Event pending_;
  bool has_data_ = false;
};

// Talks to one controller. Not thread-safe, except that Stream() may be interrupted from the
// flag it is given.
class Client {
 public:
  // Checks the URL ("http://127.0.0.1:8470", "https://ctl.example:8470") and the CA certificates;
  // InvalidArgument names what is wrong. Connects lazily.
  static absl::StatusOr<std::unique_ptr<Client>> Create(const ClientOptions& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] const std::string& server() const { return options_.server; }

  // Sends the call; a 2xx answer is returned, anything else is an error from StatusFromHttp or,
  // when no answer came, Unavailable saying whether gpufleetd runs at the server's address.
  absl::StatusOr<ApiReply> Do(const ApiCall& call);

  // GETs an event stream with Last-Event-ID (when not empty) and passes each received chunk to
  // `on_data` until the server ends the stream (OK), the connection breaks (Unavailable), the
  // server refuses (as Do), or *interrupted becomes true (Cancelled; checked every 50 ms).
  absl::Status Stream(const ApiCall& call, const std::string& last_event_id,
                      const std::function<void(std::string_view)>& on_data,
                      const std::atomic<bool>* interrupted);

 private:
  explicit Client(ClientOptions options);
  absl::Status Connect();

  ClientOptions options_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_CLIENT_H_
