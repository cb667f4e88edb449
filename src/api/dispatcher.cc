#include "api/dispatcher.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>

#include "api/status_http.h"
#include "common/strings.h"

namespace gpufleet::api {
namespace {

constexpr std::string_view kUnmatched = "unmatched";

std::string StatusClass(int status) { return StrCat(status / 100, "xx"); }

bool IsToken68Char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

}  // namespace

std::string_view MethodLabel(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  std::string_view v = StripAsciiWhitespace(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size() || !EqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = StripAsciiWhitespace(v.substr(kScheme.size()));
  if (token.empty() || token.size() > 4096) return std::nullopt;
  for (char c : token) {
    if (!IsToken68Char(c)) return std::nullopt;
  }
  return token;
}

Dispatcher::Dispatcher(const ServerOptions& options, Router router, ServerDeps deps,
                       MetricsRegistry* metrics)
    : options_(options),
      router_(std::move(router)),
      deps_(std::move(deps)),
      metrics_(metrics),
      limiter_(options.auth_rate_limit, deps_.clock) {}

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Create(const ServerOptions& options,
                                                               Router router, ServerDeps deps,
                                                               MetricsRegistry* metrics) {
  if (deps.clock == nullptr) return absl::InvalidArgumentError("server: a clock is required");
  auto d = std::unique_ptr<Dispatcher>(
      new Dispatcher(options, std::move(router), std::move(deps), metrics));
  if (absl::Status s = d->Init(); !s.ok()) return s;
  return d;
}

absl::Status Dispatcher::Init() {
  absl::StatusOr<HistogramFamily*> latency = metrics_->AddHistogram(
      "gpufleet_api_request_duration_seconds",
      "Time to serve API requests, by route template, method and status class.",
      {"route", "method", "status_class"}, DefaultLatencyBuckets());
  if (!latency.ok()) return latency.status();
  latency_ = *latency;
  absl::StatusOr<CounterFamily*> failures =
      metrics_->AddCounter("gpufleet_api_auth_failures_total",
                           "Requests refused by authentication or authorization.", {"kind"});
  if (!failures.ok()) return failures.status();
  auth_failures_ = *failures;

  auto add = [&](std::string_view path, Access access, Handler handler) -> absl::Status {
    absl::Status s = router_.Add("GET", path, std::move(access), std::move(handler));
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          StrCat("server: built-in route GET ", path, " conflicts: ", ToStd(s.message())));
    }
    return absl::OkStatus();
  };
  absl::Status s =
      add("/healthz", Access::Public(), [](const Request&) { return Response::Text("ok\n"); });
  if (!s.ok()) return s;
  s = add("/readyz", Access::Public(), [this](const Request&) {
    absl::Status ready = deps_.readiness ? deps_.readiness() : absl::OkStatus();
    if (ready.ok()) return Response::Text("ready\n");
    return Response::Error(503, "UNAVAILABLE", StrCat("not ready: ", ToStd(ready.message())));
  });
  if (!s.ok()) return s;
  return add("/metrics", options_.metrics_access, [this](const Request&) {
    return Response::Text(metrics_->Render(), 200, MetricsRegistry::kContentType);
  });
}

void Dispatcher::LogError(std::string_view message) const {
  if (deps_.error_log) deps_.error_log(message);
}

Response Dispatcher::Handle(Request& request) {
  auto start = std::chrono::steady_clock::now();
  request.max_json_depth = options_.limits.max_json_depth;
  std::string route_label(kUnmatched);
  Response response = Route(request, &route_label);
  if (request.method == "HEAD" && response.event_stream) {
    // A stream has no length: its headers, and no stream.
    response.event_stream = nullptr;
    response.SetHeader("Content-Type", "text/event-stream");
  }
  if (response.status >= 500 && !response.internal_detail.empty()) {
    LogError(StrCat(request.method, " ", route_label, ": ", response.internal_detail));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Record(request.method, route_label, response.status, seconds, request.peer_address,
         request.principal.has_value() ? request.principal->name : "");
  return response;
}

Response Dispatcher::TransportError(int http_status, std::string_view code,
                                    std::string_view message, std::string_view method,
                                    std::string_view raw_path, std::string_view peer) {
  std::string_view route = kUnmatched;
  if (!method.empty() && !raw_path.empty()) {
    RouteMatch match = router_.Match(method, raw_path);
    if (match.route != nullptr) route = match.route->path_template;
  }
  Record(method, route, http_status, 0, peer, "");
  Response r = Response::Error(http_status, code, message);
  r.SetHeader("Connection", "close");
  return r;
}

Response Dispatcher::Route(Request& request, std::string* route_label) {
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    absl::StatusOr<QueryParams> query = ParseQuery(target.substr(q + 1));
    if (!query.ok()) return Response::Error(query.status());
    request.query = *std::move(query);
  }
  RouteMatch match = router_.Match(request.method, request.path);
  if (match.route == nullptr && request.method == "HEAD") {
    // HEAD is GET without the body (RFC 9110, 9.3.2): the GET route answers, the session sends
    // its headers only.
    RouteMatch get = router_.Match("GET", request.path);
    if (get.route != nullptr) match = std::move(get);
  }
  if (match.route == nullptr) {
    if (std::find(match.allowed_methods.begin(), match.allowed_methods.end(), "GET") !=
        match.allowed_methods.end()) {
      match.allowed_methods.push_back("HEAD");
      std::sort(match.allowed_methods.begin(), match.allowed_methods.end());
    }
    if (match.allowed_methods.empty()) {
      return Response::Error(404, "NOT_FOUND",
                             StrCat("no route for ", QuoteForMessage(request.path)));
    }
    std::string allow = StrJoin(match.allowed_methods, ", ");
    Response r = Response::Error(
        405, "METHOD_NOT_ALLOWED",
        StrCat(MethodLabel(request.method) == "other" ? "this method" : request.method,
               " is not allowed here; allowed: ", allow));
    r.SetHeader("Allow", allow);
    return r;
  }
  const api::Route& route = *match.route;
  *route_label = route.path_template;
  request.route = route.path_template;
  request.path_params = std::move(match.params);
  if (std::optional<Response> refusal = Admit(request, route)) return *std::move(refusal);
  return RunHandler(route, request);
}

std::optional<Response> Dispatcher::Admit(Request& request, const api::Route& route) {
  if (route.access.is_public) return std::nullopt;
  if (deps_.authenticator == nullptr) {
    request.principal = Principal{.name = "local", .role = Role::kAdmin, .agent_host = ""};
    return std::nullopt;
  }
  const std::string& where = route.path_template;
  AuthRateLimiter::Decision limit = limiter_.Check(request.peer_address);
  if (limit.retry_after > absl::ZeroDuration()) {
    absl::Duration wait = limit.retry_after;
    Response r = Refuse(AuthFailure::Kind::kRateLimited, request, where, "",
                        "too many failed authentications from this address",
                        /*audit=*/limit.first_refusal);
    auto seconds = static_cast<std::int64_t>(std::ceil(absl::ToDoubleSeconds(wait)));
    r.SetHeader("Retry-After", StrCat(seconds < 1 ? std::int64_t{1} : seconds));
    return r;
  }
  std::optional<std::string_view> header = request.Header("Authorization");
  std::optional<std::string_view> token;
  if (header.has_value()) token = BearerToken(*header);
  if (!token.has_value()) {
    Response r = Refuse(AuthFailure::Kind::kMissingCredentials, request, where, "",
                        header.has_value() ? "malformed Authorization header, expected Bearer"
                                           : "no Authorization header");
    r.SetHeader("WWW-Authenticate", "Bearer realm=\"gpufleet\"");
    return r;
  }
  absl::StatusOr<Principal> principal = deps_.authenticator->Authenticate(*token);
  if (!principal.ok()) {
    if (principal.status().code() != absl::StatusCode::kUnauthenticated) {
      // The credential store failed, not the client: answer with the mapping (e.g. 503) and
      // keep the detail for the log only.
      Response r = Response::Error(principal.status().code() == absl::StatusCode::kUnavailable
                                       ? absl::UnavailableError("authentication is unavailable")
                                       : absl::InternalError("authentication failed"));
      r.internal_detail = StrCat("authenticator: ", principal.status().ToString());
      return r;
    }
    limiter_.RecordFailure(request.peer_address);
    Response r = Refuse(AuthFailure::Kind::kInvalidToken, request, where, "",
                        "invalid, expired or revoked token");
    r.SetHeader("WWW-Authenticate", "Bearer realm=\"gpufleet\", error=\"invalid_token\"");
    return r;
  }
  request.principal = *std::move(principal);
  absl::Status allowed = Authorize(route.access, *request.principal, request.path_params);
  if (!allowed.ok()) {
    return Refuse(AuthFailure::Kind::kForbidden, request, where, request.principal->name,
                  ToStd(allowed.message()));
  }
  return std::nullopt;
}

Response Dispatcher::Refuse(AuthFailure::Kind kind, const Request& request, std::string_view route,
                            std::string_view principal, std::string_view reason, bool audit) {
  auth_failures_->Add({std::string(AuthFailureKindName(kind))});
  if (audit && deps_.audit != nullptr) {
    deps_.audit->OnAuthFailure(AuthFailure{.kind = kind,
                                           .time = deps_.clock->Now(),
                                           .peer_address = request.peer_address,
                                           .method = request.method,
                                           .route = std::string(route),
                                           .principal = std::string(principal),
                                           .reason = std::string(reason)});
  }
  std::string message(reason);
  switch (kind) {
    case AuthFailure::Kind::kMissingCredentials:
    case AuthFailure::Kind::kInvalidToken:
      return Response::Error(absl::UnauthenticatedError(message));
    case AuthFailure::Kind::kForbidden:
      return Response::Error(absl::PermissionDeniedError(message));
    case AuthFailure::Kind::kRateLimited:
      return Response::Error(absl::ResourceExhaustedError(message));
  }
  return Response::Error(absl::InternalError("unknown refusal"));
}

Response Dispatcher::RunHandler(const api::Route& route, const Request& request) {
  try {
    return route.handler(request);
  } catch (const std::exception& e) {
    Response r = Response::Error(absl::InternalError("handler threw"));
    r.internal_detail = StrCat("handler threw: ", e.what());
    return r;
  } catch (...) {
    Response r = Response::Error(absl::InternalError("handler threw"));
    r.internal_detail = "handler threw a non-standard exception";
    return r;
  }
}

void Dispatcher::Record(std::string_view method, std::string_view route, int status, double seconds,
                        std::string_view peer, std::string_view principal) {
  std::string method_label(method.empty() ? "other" : MethodLabel(method));
  latency_->Observe({std::string(route), method_label, StatusClass(status)}, seconds);
  if (deps_.access_log) {
    deps_.access_log(AccessLogEntry{.method = method_label,
                                    .route = std::string(route),
                                    .status = status,
                                    .duration = absl::Seconds(seconds),
                                    .peer_address = std::string(peer),
                                    .principal = std::string(principal)});
  }
}

}  // namespace gpufleet::api
