#ifndef GPUFLEET_API_HTTP_SERVER_H_
#define GPUFLEET_API_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/auth.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/server_options.h"
#include "os/clock.h"

namespace gpufleet::api {

// One line of the access log. Never holds tokens, bodies or query strings.
struct AccessLogEntry {
  std::string method;
  std::string route;  // the route template, or "unmatched"
  int status = 0;
  absl::Duration duration;
  std::string peer_address;
  std::string principal;  // the authenticated name, or empty
};

using AccessLogSink = std::function<void(const AccessLogEntry&)>;
// Server-side problems: 500s with their internal detail, TLS setup, accept failures.
using ErrorLogSink = std::function<void(std::string_view message)>;
// OK when the process is ready to serve (store open, migrations done); /readyz answers 503 with
// the status message otherwise.
using ReadinessCheck = std::function<absl::Status()>;

// What the server uses but does not own; every pointer must outlive the server, and every
// callback is called from worker threads, concurrently, so must be thread-safe.
struct ServerDeps {
  const os::Clock* clock = nullptr;  // required; drives the auth rate limiter
  // Null disables authentication: every request runs as {"local", Role::kAdmin}. Start() then
  // refuses non-loopback addresses (CheckListenPolicy).
  Authenticator* authenticator = nullptr;
  AuthAuditSink* audit = nullptr;      // optional
  MetricsRegistry* metrics = nullptr;  // optional; the server owns one when null
  AccessLogSink access_log;            // optional
  ErrorLogSink error_log;              // optional
  ReadinessCheck readiness;            // optional; null means always ready
};

// An HTTP/1.1 server (Boost.Beast), optionally over TLS, serving a Router.
//
// Besides the router's routes it serves GET /healthz (public, 200 while serving), GET /readyz
// (public, the readiness check) and GET /metrics (options.metrics_access, Prometheus text).
// For each request it: matches the route (404 / 405 with Allow), authenticates the bearer token
// unless the route is public (401 with WWW-Authenticate: Bearer; 429 with Retry-After once an
// address failed too often), authorizes the principal against the route's Access (403), runs
// the handler, and records latency by route template, method and status class
// (gpufleet_api_request_duration_seconds) and an access log line.
//
// Limits (ServerLimits): bodies over max_body_bytes get 413, headers over max_header_bytes 431,
// malformed requests 400; a client that passes a read deadline is disconnected.
//
// Threads: `options.threads` workers run the I/O and the handlers; all methods are thread-safe,
// except that Stop() must not be called from a handler.
class HttpServer {
 public:
  using Options = ServerOptions;

  // Binds, listens and starts the workers. Errors: CheckListenPolicy's; InvalidArgument for
  // bad options or a route that conflicts with a built-in one; Unavailable when the address
  // cannot be bound; InvalidArgument naming the file when the TLS certificate or key fails to
  // load.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options, Router router,
                                                           ServerDeps deps);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stops (see Stop()).
  ~HttpServer();

  // Graceful stop: stops accepting, lets requests already being read or handled finish (their
  // responses say Connection: close), closes idle connections and ends event streams, then
  // closes what remains after options.stop_timeout and joins the workers. Idempotent.
  void Stop();

  // The bound port (the chosen one when options.listen asked for port 0).
  [[nodiscard]] std::uint16_t port() const;
  // The full route table, built-in routes included.
  [[nodiscard]] const Router& router() const;
  [[nodiscard]] MetricsRegistry& metrics();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_HTTP_SERVER_H_
