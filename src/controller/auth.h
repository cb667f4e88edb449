#ifndef GPUFLEET_CONTROLLER_AUTH_H_
#define GPUFLEET_CONTROLLER_AUTH_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/auth.h"
#include "api/router.h"
#include "controller/context.h"
#include "store/entities.h"

namespace gpufleet::controller {

// Bearer tokens, hashed at rest. Three kinds, told apart by their prefix:
//   gft_<43 base64url chars>           API token of a person or script (viewer, operator, admin)
//   gfa_<agent>.<43 base64url chars>   agent credential: acts only for the host named <agent>
//   gfe_<43 base64url chars>           single-use enrolment token, exchanged for a credential
// Each carries 256 random bits; only SHA-256 hex reaches the store, and hashes are compared with
// CRYPTO_memcmp. The secret is shown once, in the response that creates it.
inline constexpr std::string_view kApiTokenPrefix = "gft_";
inline constexpr std::string_view kAgentCredentialPrefix = "gfa_";
inline constexpr std::string_view kEnrolmentTokenPrefix = "gfe_";

// The file of the first admin token, in the data directory.
inline constexpr std::string_view kAdminTokenFile = "admin-token";

struct AuthOptions {
  // last_used_at is written at most this often per token (a write per request would make every
  // GET an fsync).
  absl::Duration last_used_granularity = absl::Minutes(1);
  // Enrolment tokens expire this long after they are issued unless the request says otherwise.
  absl::Duration default_enrolment_ttl = absl::Hours(1);
};

// The controller's Authenticator and AuthAuditSink over the store, and the routes that manage
// tokens. Thread-safe: every method may be called from any thread (the server's workers).
class TokenAuth final : public api::Authenticator, public api::AuthAuditSink {
 public:
  TokenAuth(Context context, AuthOptions options = {});

  // Unauthenticated ("unknown token", "token expired", "malformed token", "credential revoked")
  // for a token that does not admit its bearer; the store's error (e.g. Unavailable) otherwise.
  // Never puts the token in a message.
  absl::StatusOr<api::Principal> Authenticate(std::string_view bearer_token) override;

  // Records the failure as an event: kind "auth.<failure kind>", actor the peer's address,
  // message the reason; the route and method in its data. Never the token. Errors of the store
  // are dropped (the request has been refused already).
  void OnAuthFailure(const api::AuthFailure& failure) override;

  // Issues an API token (event "token.created" by `actor`) and returns its secret. Errors:
  // InvalidArgument for a bad name, AlreadyExists for a name in use.
  absl::StatusOr<std::string> CreateToken(std::string_view name, store::Role role,
                                          std::optional<absl::Time> expires_at,
                                          std::string_view actor);

  // First start: when the store holds no API token, creates "admin" (role admin), writes its
  // secret to <data_dir>/admin-token with mode 0600 (replacing a stale file, before the store
  // commits, so that a crash in between leaves a fresh start) and returns the secret; nullopt
  // when tokens exist already. Errors: the file's (Internal, naming the path and errno) or the
  // store's.
  absl::StatusOr<std::optional<std::string>> BootstrapAdminToken(std::string_view data_dir);

  // POST/GET /api/v1/tokens, DELETE /api/v1/tokens/{name} (admin);
  // POST /api/v1/enrolment-tokens (admin); POST /api/v1/agents/enrol (public).
  absl::Status AddRoutes(api::Router& router);

 private:
  api::Response PostToken(const api::Request& request);
  api::Response ListTokens(const api::Request& request);
  api::Response DeleteToken(const api::Request& request);
  api::Response PostEnrolmentToken(const api::Request& request);
  api::Response Enrol(const api::Request& request);
  absl::StatusOr<api::Principal> AuthenticateApiToken(std::string_view token);
  absl::StatusOr<api::Principal> AuthenticateAgent(std::string_view token);
  // Stores a token whose secret the caller drew; event "token.created" by `actor`.
  absl::Status StoreToken(std::string_view name, store::Role role, std::string_view secret,
                          std::optional<absl::Time> expires_at, std::string_view actor,
                          bool only_if_none);

  Context context_;
  AuthOptions options_;
};

[[nodiscard]] api::Role ApiRoleOf(store::Role role);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_AUTH_H_
