#ifndef GPUFLEET_API_DISPATCHER_H_
#define GPUFLEET_API_DISPATCHER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "api/rate_limiter.h"
#include "api/request.h"
#include "api/response.h"
#include "api/router.h"

namespace gpufleet::api {

// Internal to the server: what happens to a request once the transport has read it -- routing,
// authentication, rate limiting, authorization, the handler, metrics and the access log. Free
// of Beast so it compiles fast and tests without sockets. Thread-safe after Create().
class Dispatcher {
 public:
  // Adds the built-in routes (/healthz, /readyz, /metrics) to `router`; InvalidArgument when one
  // of them conflicts with a route already there. `metrics` is deps.metrics or one the caller
  // owns; both must outlive the dispatcher.
  static absl::StatusOr<std::unique_ptr<Dispatcher>> Create(const ServerOptions& options,
                                                            Router router, ServerDeps deps,
                                                            MetricsRegistry* metrics);

  // Serves `request`, whose method, target, headers, body and peer are filled; fills the rest.
  // Never throws.
  [[nodiscard]] Response Handle(Request& request);

  // Records and returns an error the transport answers itself (413, 431, 400) before a handler
  // could run. `method` and `raw_path` may be empty when the request line was not read.
  [[nodiscard]] Response TransportError(int http_status, std::string_view code,
                                        std::string_view message, std::string_view method,
                                        std::string_view raw_path, std::string_view peer);

  void LogError(std::string_view message) const;

  [[nodiscard]] const Router& router() const { return router_; }

 private:
  Dispatcher(const ServerOptions& options, Router router, ServerDeps deps,
             MetricsRegistry* metrics);
  absl::Status Init();
  Response Route(Request& request, std::string* route_label);
  // Authenticates and authorizes; nullopt to go on, or the refusal.
  std::optional<Response> Admit(Request& request, const api::Route& route);
  // The refusal's response; counts it and, when `audit`, reports it to the audit sink.
  Response Refuse(AuthFailure::Kind kind, const Request& request, std::string_view route,
                  std::string_view principal, std::string_view reason, bool audit = true);
  Response RunHandler(const api::Route& route, const Request& request);
  void Record(std::string_view method, std::string_view route, int status, double seconds,
              std::string_view peer, std::string_view principal);

  const ServerOptions options_;
  Router router_;
  ServerDeps deps_;
  MetricsRegistry* metrics_;
  AuthRateLimiter limiter_;
  HistogramFamily* latency_ = nullptr;
  CounterFamily* auth_failures_ = nullptr;
};

// "GET", ..., or "other": methods as a bounded metric label.
[[nodiscard]] std::string_view MethodLabel(std::string_view method);

// The token of an "Authorization: Bearer <token>" value; nullopt when absent or malformed.
[[nodiscard]] std::optional<std::string_view> BearerToken(std::string_view authorization);

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_DISPATCHER_H_
