#ifndef GPUFLEET_CONTROLLER_AUTH_H_
#define GPUFLEET_CONTROLLER_AUTH_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

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
  // last_used_at (tokens) and last_seen_at (agent credentials) move at most this often per
  // credential (a write per request would make every GET an fsync). They are written behind:
  // the request notes the time in memory and FlushLastUse, run by the controller's once-a-second
  // sweep, writes what is due in one transaction, so no request waits for that fsync.
  absl::Duration last_used_granularity = absl::Minutes(1);
  // Enrolment tokens expire this long after they are issued unless the request says otherwise.
  absl::Duration default_enrolment_ttl = absl::Hours(1);
  // A token or agent credential verified against the store is then admitted from memory (by the
  // SHA-256 of the bearer token, never the token) for this long, saving the store read of each
  // request. Bound on staleness: a change made through this TokenAuth (token deletion,
  // re-enrolment of an agent) applies at once, since it empties the cache; one made around it
  // (another process writing the store: a revoked credential, a deleted token) applies within
  // cache_ttl. Expiry is checked on every request, cached or not. Unknown tokens are never
  // cached. Zero disables the cache.
  absl::Duration cache_ttl = absl::Seconds(30);
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
  // POST /api/v1/enrolment-tokens (admin); POST /api/v1/agents/enrol (public);
  // GET /api/v1/agents, DELETE /api/v1/agents/{agent} (admin: revoke; the agent must enrol
  // again with a new enrolment token); GET /api/v1/whoami (any token).
  absl::Status AddRoutes(api::Router& router);

  // Empties the verified-credential cache: a deletion or revocation made elsewhere (a host's
  // deletion) applies to the next request.
  void ForgetAll();

  // Writes the last-use times noted since the previous flush (tokens' last_used_at, agents'
  // last_seen_at) in one store transaction, skipping credentials deleted meanwhile and never
  // moving a stored time backwards. On a store error the times are kept for the next flush.
  absl::Status FlushLastUse();

 private:
  api::Response PostToken(const api::Request& request);
  api::Response ListTokens(const api::Request& request);
  api::Response DeleteToken(const api::Request& request);
  api::Response PostEnrolmentToken(const api::Request& request);
  api::Response Enrol(const api::Request& request);
  // GET /api/v1/whoami: the caller's token name and role (what the dashboard shows and hides).
  static api::Response WhoAmI(const api::Request& request);
  api::Response ListAgents(const api::Request& request);
  api::Response RevokeAgent(const api::Request& request);
  absl::StatusOr<api::Principal> AuthenticateApiToken(std::string_view token);
  absl::StatusOr<api::Principal> AuthenticateAgent(std::string_view token);
  // Stores a token whose secret the caller drew; event "token.created" by `actor`.
  absl::Status StoreToken(std::string_view name, store::Role role, std::string_view secret,
                          std::optional<absl::Time> expires_at, std::string_view actor,
                          bool only_if_none);

  // A verified token, by its SHA-256.
  struct Verified {
    api::Principal principal;
    std::optional<absl::Time> expires_at;
    std::optional<absl::Time> last_used;  // the stored last_used_at / last_seen_at
    absl::Time verified_at;
  };
  // The cached principal of `hash`, when fresh, unexpired and not due for a last-use write.
  std::optional<api::Principal> Cached(const std::string& hash, absl::Time now);
  // Caches `verified` unless ForgetAll ran since `generation` was read (a deletion or
  // re-enrolment may have raced with the store read).
  void Remember(const std::string& hash, Verified verified, std::uint64_t generation);
  std::uint64_t Generation();

  // Notes a use of the token with `hash` (or of `agent`'s credential) at `now` for FlushLastUse.
  void NoteTokenUse(const std::string& hash, absl::Time now);
  void NoteAgentUse(const std::string& agent, absl::Time now);

  Context context_;
  AuthOptions options_;
  std::mutex pending_mu_;
  std::map<std::string, absl::Time> pending_tokens_;  // by SHA-256; guarded by pending_mu_
  std::map<std::string, absl::Time> pending_agents_;  // by agent; guarded by pending_mu_
  std::mutex cache_mu_;
  std::unordered_map<std::string, Verified> cache_;  // guarded by cache_mu_
  std::uint64_t generation_ = 0;                     // guarded by cache_mu_; +1 by ForgetAll
};

[[nodiscard]] api::Role ApiRoleOf(store::Role role);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_AUTH_H_
