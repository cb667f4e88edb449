#include "agent/http_controller_api.h"

#include <httplib.h>

#include <utility>

#include "agent/wire.h"
#include "common/json.h"
#include "common/strings.h"

namespace gpufleet::agent {
namespace {

constexpr std::size_t kMaxMessageBytes = 300;

int64_t Micros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

// The controller's error body {code, message, field?} -> Status with its message.
absl::Status FromHttp(int status, const std::string& body, std::string_view what) {
  std::string message;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    message = j["message"].get<std::string>();
  }
  if (message.size() > kMaxMessageBytes) message.resize(kMaxMessageBytes);
  std::string text = StrCat(what, ": HTTP ", status, message.empty() ? "" : ": ", message);
  switch (status) {
    case 400:
    case 413:
      return absl::InvalidArgumentError(text);
    case 401:
      return absl::UnauthenticatedError(text);
    case 403:
      return absl::PermissionDeniedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 409:
    case 412:
      return absl::FailedPreconditionError(text);
    case 429:
      return absl::ResourceExhaustedError(text);
    default:
      return status >= 500 ? absl::UnavailableError(text) : absl::InternalError(text);
  }
}

class HttpControllerApi final : public ControllerApi {
 public:
  explicit HttpControllerApi(HttpControllerOptions options) : options_(std::move(options)) {}

  absl::Status Connect() {
    const bool https = options_.server.starts_with("https://");
    if (!https && !options_.server.starts_with("http://")) {
      return absl::InvalidArgumentError(
          StrCat("--server ", options_.server, ": expected http://HOST:PORT or https://HOST:PORT"));
    }
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
    if (https) return absl::InvalidArgumentError("this build has no TLS support");
#endif
    http_ = std::make_unique<httplib::Client>(options_.server);
    http_->set_connection_timeout(Micros(options_.connect_timeout));
    http_->set_read_timeout(Micros(options_.read_timeout));
    http_->set_write_timeout(Micros(options_.read_timeout));
    http_->set_keep_alive(true);
    // Headers and body go out in separate writes: without this, Nagle's algorithm and the
    // server's delayed ACK hold every POST/PUT for ~40 ms.
    http_->set_tcp_nodelay(true);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (https) {
      http_->enable_server_certificate_verification(true);
      if (!options_.ca_file.empty()) http_->set_ca_cert_path(options_.ca_file.c_str());
    }
#endif
    return absl::OkStatus();
  }

  void SetCredential(const std::string& credential) override { credential_ = credential; }

  absl::StatusOr<std::string> Enrol(const std::string& enrolment_token) override {
    absl::StatusOr<nlohmann::json> reply =
        Call("POST", "/api/v1/agents/enrol", nlohmann::json{{"token", enrolment_token}}, "enrol",
             /*authenticated=*/false);
    if (!reply.ok()) return reply.status();
    if (!reply->contains("credential") || !(*reply)["credential"].is_string()) {
      return absl::InternalError("enrol: the controller's answer has no credential");
    }
    return (*reply)["credential"].get<std::string>();
  }

  absl::Status PutHost(const std::string& host, const backends::HostFacts& facts) override {
    return Call("PUT", HostPath(host), HostReportJson(facts), "register host").status();
  }

  absl::StatusOr<HeartbeatReply> Heartbeat(const std::string& host) override {
    absl::StatusOr<nlohmann::json> reply =
        Call("POST", StrCat(HostPath(host), "/heartbeat"), nlohmann::json::object(), "heartbeat");
    if (!reply.ok()) return reply.status();
    HeartbeatReply out;
    if (reply->contains("state") && (*reply)["state"].is_string()) {
      out.state = (*reply)["state"].get<std::string>();
    }
    if (reply->contains("next_heartbeat_seconds") &&
        (*reply)["next_heartbeat_seconds"].is_number_integer()) {
      int64_t seconds = (*reply)["next_heartbeat_seconds"].get<int64_t>();
      if (seconds > 0 && seconds <= 3600) out.next_heartbeat = absl::Seconds(seconds);
    }
    return out;
  }

  absl::StatusOr<std::optional<DesiredState>> GetDesired(
      const std::string& host, const std::string& known_generation) override {
    httplib::Headers headers = Headers();
    if (!known_generation.empty()) {
      headers.emplace("If-None-Match", StrCat("\"", known_generation, "\""));
    }
    std::string what = "fetch desired instances";
    httplib::Result r = http_->Get(StrCat(HostPath(host), "/desired"), headers);
    if (!r) return Transport(r.error(), what);
    if (r->status == 304) return std::optional<DesiredState>();
    if (r->status != 200) return FromHttp(r->status, r->body, what);
    absl::StatusOr<nlohmann::json> body = ParseJson(r->body, what);
    if (!body.ok()) return body.status();
    absl::StatusOr<DesiredState> desired = DecodeDesired(*body, what);
    if (!desired.ok()) return desired.status();
    return std::optional<DesiredState>(*std::move(desired));
  }

  absl::Status PutInstances(const std::string& host,
                            const std::vector<backends::VgpuInstance>& observed,
                            const std::vector<MigrationResult>& migrations,
                            const std::vector<GpuCreatable>& creatable,
                            const std::vector<AgentError>& errors) override {
    return Call("PUT", StrCat(HostPath(host), "/instances"),
                ObservedJson(observed, migrations, creatable, errors), "report instances")
        .status();
  }

  absl::Status PostTelemetry(const std::string& host, const std::vector<backends::GpuSample>& gpus,
                             const std::optional<backends::BmcReading>& bmc) override {
    return Call("POST", StrCat(HostPath(host), "/telemetry"), TelemetryJson(gpus, bmc),
                "report telemetry")
        .status();
  }

  absl::Status PutLease(const std::string& host, const std::string& vm,
                        absl::Duration expires_in) override {
    int64_t seconds = std::min<int64_t>(absl::ToInt64Seconds(expires_in), 2678400);
    return Call("PUT", StrCat(HostPath(host), "/leases/", vm),
                nlohmann::json{{"expires_in_seconds", seconds}}, StrCat("report lease of ", vm))
        .status();
  }

 private:
  static std::string HostPath(const std::string& host) { return StrCat("/api/v1/hosts/", host); }

  httplib::Headers Headers(bool authenticated = true) const {
    httplib::Headers h = {{"Accept", "application/json"}};
    if (authenticated) h.emplace("Authorization", StrCat("Bearer ", credential_));
    return h;
  }

  absl::Status Transport(httplib::Error error, std::string_view what) const {
    return absl::UnavailableError(StrCat(what, ": no answer from the controller at ",
                                         options_.server, " (", httplib::to_string(error), ")"));
  }

  absl::StatusOr<nlohmann::json> Call(const std::string& method, const std::string& path,
                                      const nlohmann::json& body, std::string_view what,
                                      bool authenticated = true) {
    std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    httplib::Headers headers = Headers(authenticated);
    httplib::Result r = method == "PUT" ? http_->Put(path, headers, text, "application/json")
                                        : http_->Post(path, headers, text, "application/json");
    if (!r) return Transport(r.error(), what);
    if (r->status < 200 || r->status > 299) return FromHttp(r->status, r->body, what);
    if (r->body.empty()) return nlohmann::json();
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return absl::InternalError(StrCat(what, ": the controller's answer is not JSON"));
    }
    return j;
  }

  HttpControllerOptions options_;
  std::unique_ptr<httplib::Client> http_;
  std::string credential_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerApi>> NewHttpControllerApi(HttpControllerOptions options) {
  while (options.server.ends_with('/')) options.server.pop_back();
  auto api = std::make_unique<HttpControllerApi>(std::move(options));
  if (absl::Status s = api->Connect(); !s.ok()) return s;
  return std::unique_ptr<ControllerApi>(std::move(api));
}

}  // namespace gpufleet::agent
