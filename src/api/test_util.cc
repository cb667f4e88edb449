#include "api/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/strings.h"

namespace gpufleet::api::testing {

absl::StatusOr<Principal> FakeAuthenticator::Authenticate(std::string_view token) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
  }
  if (token == "viewer-token")
    return Principal{.name = "vera", .role = Role::kViewer, .agent_host = ""};
  if (token == "operator-token") {
    return Principal{.name = "otto", .role = Role::kOperator, .agent_host = ""};
  }
  if (token == "admin-token")
    return Principal{.name = "ada", .role = Role::kAdmin, .agent_host = ""};
  if (token == "agent-h1-token") {
    return Principal{.name = "agent-h1", .role = Role::kAgent, .agent_host = "h1"};
  }
  if (token == "store-down") return absl::UnavailableError("sqlite: /var/lib/x locked");
  return absl::UnauthenticatedError("unknown token");
}

int FakeAuthenticator::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void RecordingAudit::OnAuthFailure(const AuthFailure& failure) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.push_back(failure);
}

std::vector<AuthFailure> RecordingAudit::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

ServerOptions TestOptions() {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  o.stop_timeout = absl::Seconds(5);
  return o;
}

TestServer::TestServer() : clock(absl::FromUnixSeconds(1700000000)) {}

TestServer::~TestServer() {
  if (server_) server_->Stop();
}

absl::Status TestServer::Start(Router router, ServerOptions options, bool with_auth) {
  ServerDeps deps;
  deps.clock = &clock;
  deps.authenticator = with_auth ? &authenticator : nullptr;
  deps.audit = &audit;
  deps.access_log = [this](const AccessLogEntry& e) {
    std::lock_guard<std::mutex> lock(mu_);
    access_log_.push_back(e);
  };
  deps.error_log = [this](std::string_view message) {
    std::lock_guard<std::mutex> lock(mu_);
    errors_.emplace_back(message);
  };
  deps.readiness = [this] { return readiness ? readiness() : absl::OkStatus(); };
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(std::move(options), std::move(router), std::move(deps));
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  return absl::OkStatus();
}

std::vector<AccessLogEntry> TestServer::access_log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return access_log_;
}

std::vector<std::string> TestServer::errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_;
}

RawClient::RawClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) Close();
}

RawClient::~RawClient() { Close(); }

void RawClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawClient::Send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

long RawClient::ReadSome(absl::Duration timeout) {
  if (closed_ || fd_ < 0) return 0;
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  int ready = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (ready <= 0) return -1;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
  if (n <= 0) {
    closed_ = true;
    return 0;
  }
  data_.append(buf, static_cast<std::size_t>(n));
  return static_cast<long>(n);
}

std::string RawClient::ReadUntil(std::string_view needle, absl::Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (data_.find(needle) == std::string::npos && !closed_) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    ReadSome(absl::FromChrono(left));
  }
  return data_;
}

std::string RawClient::ReadResponse(absl::Duration timeout) {
  std::string head = ReadUntil("\r\n\r\n", timeout);
  std::size_t end = head.find("\r\n\r\n");
  if (end == std::string::npos) return head;
  std::string lower = AsciiLower(head.substr(0, end));
  std::size_t cl = lower.find("content-length:");
  if (cl == std::string::npos) {
    std::string response = data_.substr(0, end + 4);
    data_.erase(0, end + 4);
    return response;
  }
  std::size_t length = std::stoul(lower.substr(cl + 15));
  auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (data_.size() < end + 4 + length && !closed_ &&
         std::chrono::steady_clock::now() < deadline) {
    ReadSome(absl::Milliseconds(100));
  }
  std::string response = data_.substr(0, end + 4 + length);
  data_.erase(0, response.size());
  return response;
}

bool RawClient::WaitForClose(absl::Duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (!closed_ && std::chrono::steady_clock::now() < deadline) {
    ReadSome(absl::Milliseconds(100));
    data_.clear();
  }
  return closed_;
}

int StatusOf(std::string_view raw) {
  if (raw.size() < 12 || !raw.starts_with("HTTP/1.")) return 0;
  return ParseNonNegativeInt(raw.substr(9, 3)).value_or(0);
}

}  // namespace gpufleet::api::testing
