#ifndef GPUFLEET_API_SERVER_OPTIONS_H_
#define GPUFLEET_API_SERVER_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/auth.h"
#include "api/json_body.h"
#include "api/rate_limiter.h"

namespace gpufleet::api {

// PEM files; `cert_file` may hold the certificate chain after the server certificate.
struct TlsOptions {
  std::string cert_file;
  std::string key_file;
};

// What one client may cost the server. Every read has a deadline, so a client that sends slowly
// (or not at all) is disconnected when it passes: a connection never waits unbounded.
struct ServerLimits {
  std::size_t max_body_bytes = std::size_t{1} << 20;  // larger bodies: 413
  std::size_t max_header_bytes = 8 * 1024;            // request line + header fields: 431
  int max_json_depth = kDefaultMaxJsonDepth;          // deeper JSON bodies: 400
  // From the connection's start (or the first byte of a kept-alive request) to the end of the
  // header. The TLS handshake has a deadline of the same length of its own.
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(30);   // to read the whole body
  absl::Duration idle_timeout = absl::Seconds(60);   // between kept-alive requests
  absl::Duration write_timeout = absl::Seconds(30);  // to write one response or event
  std::size_t max_connections = 1024;                // more are closed at once
};

struct ServerOptions {
  // "host:port" with an IPv4 address, "[IPv6]" or "localhost"; port 0 picks a free port.
  std::string listen = "127.0.0.1:8470";
  int threads = 4;
  std::optional<TlsOptions> tls;
  ServerLimits limits;
  bool keep_alive = true;
  // Stop() waits this long for in-flight requests before closing connections forcibly.
  absl::Duration stop_timeout = absl::Seconds(10);
  // Server-Sent Events: a comment line this often keeps proxies from closing idle streams; a
  // client more than `sse_max_queued_events` behind is disconnected.
  absl::Duration sse_keepalive_interval = absl::Seconds(15);
  std::size_t sse_max_queued_events = 1024;
  // Who may read /metrics.
  Access metrics_access = Access::Viewer();
  AuthRateLimiter::Options auth_rate_limit;
};

struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0"; "localhost" becomes "127.0.0.1"
  std::uint16_t port = 0;
  bool is_loopback = false;
};

// Parses ServerOptions::listen. InvalidArgument (field "listen") naming what is wrong.
[[nodiscard]] absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view listen);

// Safe by default: a server that is reachable beyond this machine must use TLS and
// authentication. OK for a loopback address; for any other address FailedPrecondition (field
// "listen") unless `options.tls` names both files and `auth_configured`, saying what to
// configure. Also rejects an unparsable address and a TLS block with a missing file name. Pure.
[[nodiscard]] absl::Status CheckListenPolicy(const ServerOptions& options, bool auth_configured);

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_SERVER_OPTIONS_H_
