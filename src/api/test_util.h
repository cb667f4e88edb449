#ifndef GPUFLEET_API_TEST_UTIL_H_
#define GPUFLEET_API_TEST_UTIL_H_

// Test helpers for the server tests: fakes for the injected interfaces, a server started on
// 127.0.0.1 port 0, and a raw-socket client for malformed and slow requests.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "api/http_server.h"
#include "os/clock.h"

namespace gpufleet::api::testing {

// Tokens: "viewer-token", "operator-token", "admin-token", "agent-h1-token" (agent for h1);
// "store-down" fails with Unavailable; anything else is Unauthenticated.
class FakeAuthenticator final : public Authenticator {
 public:
  absl::StatusOr<Principal> Authenticate(std::string_view bearer_token) override;
  int calls() const;

 private:
  mutable std::mutex mu_;
  int calls_ = 0;
};

class RecordingAudit final : public AuthAuditSink {
 public:
  void OnAuthFailure(const AuthFailure& failure) override;
  std::vector<AuthFailure> failures() const;

 private:
  mutable std::mutex mu_;
  std::vector<AuthFailure> failures_;
};

// Options for tests: 127.0.0.1 port 0, two workers, short stop timeout.
ServerOptions TestOptions();

// A server with fakes around it. Start() may be called once.
class TestServer {
 public:
  TestServer();
  ~TestServer();
  absl::Status Start(Router router, ServerOptions options = TestOptions(), bool with_auth = true);
  HttpServer& server() { return *server_; }
  std::uint16_t port() const { return server_->port(); }

  os::FakeClock clock;
  FakeAuthenticator authenticator;
  RecordingAudit audit;
  ReadinessCheck readiness;
  std::vector<AccessLogEntry> access_log() const;
  std::vector<std::string> errors() const;

 private:
  mutable std::mutex mu_;
  std::vector<AccessLogEntry> access_log_;
  std::vector<std::string> errors_;
  std::unique_ptr<HttpServer> server_;
};

// A blocking TCP client on 127.0.0.1 for requests cpp-httplib will not send.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False when the peer has closed or reset the connection.
  bool Send(std::string_view data);
  // Reads until `needle` appears in everything read so far, the peer closes, or `timeout`
  // passes; returns everything read so far.
  std::string ReadUntil(std::string_view needle, absl::Duration timeout = absl::Seconds(10));
  // Reads one response with a Content-Length body.
  std::string ReadResponse(absl::Duration timeout = absl::Seconds(10));
  // True when the peer closed (EOF or reset) within `timeout`; discards data read meanwhile.
  bool WaitForClose(absl::Duration timeout = absl::Seconds(10));
  void Close();

 private:
  // Reads what is available within `timeout`; 0 on EOF/reset (sets closed_), -1 on timeout.
  long ReadSome(absl::Duration timeout);

  int fd_ = -1;
  bool closed_ = false;
  std::string data_;
};

// The status code of a raw response ("HTTP/1.1 413 ..." -> 413), or 0.
int StatusOf(std::string_view raw_response);

}  // namespace gpufleet::api::testing

#endif  // GPUFLEET_API_TEST_UTIL_H_
