#ifndef GPUFLEET_API_AUTH_H_
#define GPUFLEET_API_AUTH_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gpufleet::api {

// Decoded path parameters of a matched route: {"host": "h1", "pci": "0000:3b:00.0"}.
using PathParams = std::map<std::string, std::string, std::less<>>;

// Human roles are ordered: viewer < operator < admin. An agent is not a human role: it acts for
// exactly one host and may only use routes that admit agents for that host.
enum class Role { kViewer, kOperator, kAdmin, kAgent };

[[nodiscard]] std::string_view RoleName(Role role);

// Who made a request, as established by the Authenticator.
struct Principal {
  std::string name;
  Role role = Role::kViewer;
  // The host an agent acts for; empty for human roles.
  std::string agent_host;
};

// What a route requires. Combine a minimum human role with agent access:
//   Access::Viewer()                       viewers, operators, admins
//   Access::AgentOwnHost("host")           agents whose host equals the {host} path parameter
//   Access::AgentOwnHost("host").Or(Role::kAdmin)   ... and admins as well
struct Access {
  bool is_public = false;
  // The least human role admitted; nullopt admits no human.
  std::optional<Role> min_role;
  // When set, agents are admitted if their host equals this path parameter's value.
  std::optional<std::string> agent_host_param;

  static Access Public() {
    Access a;
    a.is_public = true;
    return a;
  }
  static Access Viewer() { return MinRole(Role::kViewer); }
  static Access Operator() { return MinRole(Role::kOperator); }
  static Access Admin() { return MinRole(Role::kAdmin); }
  static Access AgentOwnHost(std::string host_param) {
    Access a;
    a.agent_host_param = std::move(host_param);
    return a;
  }
  static Access MinRole(Role role) {
    Access a;
    a.min_role = role;
    return a;
  }
  // Also admits humans with at least `role` (role must be a human role).
  [[nodiscard]] Access Or(Role role) const {
    Access a = *this;
    a.min_role = role;
    return a;
  }
  // "public", "viewer", "agent(host)", "agent(host)|admin": for docs and the auth-matrix test.
  [[nodiscard]] std::string ToString() const;
};

// OK when `principal` may use a route with `access`, given the request's decoded path
// parameters; PermissionDenied naming what is missing otherwise. Public routes admit everyone.
[[nodiscard]] absl::Status Authorize(const Access& access, const Principal& principal,
                                     const PathParams& params);

// Verifies bearer tokens. Implemented by the controller over the store (tokens hashed at rest).
// Called concurrently from the server's worker threads; must be thread-safe and may block.
// Errors: Unauthenticated for an unknown, expired or revoked token (counted as a failed attempt
// and rate limited); any other code (e.g. Unavailable while the store is down) is answered with
// its HTTP mapping and not counted against the client. Implementations never put the token in
// the returned status.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual absl::StatusOr<Principal> Authenticate(std::string_view bearer_token) = 0;
};

// One refused request, as reported to the audit sink. Never contains the token.
struct AuthFailure {
  enum class Kind {
    kMissingCredentials,  // no or malformed Authorization header (401)
    kInvalidToken,        // the Authenticator said Unauthenticated (401)
    kForbidden,           // authenticated, but the route does not admit the principal (403)
    kRateLimited,         // locked out after failed attempts (429); once per lockout
  };
  Kind kind = Kind::kInvalidToken;
  absl::Time time;
  std::string peer_address;  // the client's IP address, without port
  std::string method;
  std::string route;      // the route template, or "unmatched"
  std::string principal;  // the authenticated name for kForbidden, else empty
  std::string reason;     // a short explanation, safe to show to an operator
};

[[nodiscard]] std::string_view AuthFailureKindName(AuthFailure::Kind kind);

// Receives refused requests; the controller records them in the events log. Called from worker
// threads, concurrently; must be thread-safe and should not block for long.
class AuthAuditSink {
 public:
  virtual ~AuthAuditSink() = default;
  virtual void OnAuthFailure(const AuthFailure& failure) = 0;
};

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_AUTH_H_
