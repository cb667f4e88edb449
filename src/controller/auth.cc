#include "controller/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/auth_bodies.h"
#include "controller/secrets.h"

namespace gpufleet::controller {
namespace {

// The cache is emptied rather than grown past this many tokens.
constexpr std::size_t kMaxCachedTokens = 100000;

absl::Status WriteSecretFile(const std::string& path, std::string_view secret) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  auto fail = [&](std::string_view what) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return absl::InternalError(
        StrCat("admin token file ", path, ": ", what, ": ", std::strerror(err)));
  };
  if (fd < 0) return fail("cannot create");
  if (::fchmod(fd, 0600) != 0) return fail("cannot set mode 0600");
  std::string text = StrCat(secret, "\n");
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    fd = -1;
    return fail("cannot close");
  }
  return absl::OkStatus();
}

nlohmann::json TokenJson(const store::ApiToken& t) {
  return {{"name", t.name},
          {"role", store::RoleName(t.role)},
          {"created_at", TimeText(t.created_at)},
          {"expires_at", TimeOrNull(t.expires_at)},
          {"last_used_at", TimeOrNull(t.last_used_at)}};
}

}  // namespace

api::Role ApiRoleOf(store::Role role) {
  switch (role) {
    case store::Role::kViewer:
      return api::Role::kViewer;
    case store::Role::kOperator:
      return api::Role::kOperator;
    case store::Role::kAdmin:
      return api::Role::kAdmin;
  }
  return api::Role::kViewer;
}

TokenAuth::TokenAuth(Context context, AuthOptions options) : context_(context), options_(options) {}

absl::StatusOr<api::Principal> TokenAuth::Authenticate(std::string_view bearer_token) {
  if (bearer_token.starts_with(kApiTokenPrefix)) return AuthenticateApiToken(bearer_token);
  if (bearer_token.starts_with(kAgentCredentialPrefix)) return AuthenticateAgent(bearer_token);
  return absl::UnauthenticatedError("malformed token");
}

std::optional<api::Principal> TokenAuth::Cached(const std::string& hash, absl::Time now) {
  if (options_.cache_ttl <= absl::ZeroDuration()) return std::nullopt;
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = cache_.find(hash);
  if (it == cache_.end()) return std::nullopt;
  const Verified& v = it->second;
  // Stale, expired (the store path says so with its message), or due for a last-use write.
  if (now - v.verified_at >= options_.cache_ttl || now < v.verified_at ||
      (v.expires_at.has_value() && *v.expires_at <= now) || !v.last_used.has_value() ||
      now - *v.last_used >= options_.last_used_granularity) {
    cache_.erase(it);
    return std::nullopt;
  }
  return v.principal;
}

void TokenAuth::Remember(const std::string& hash, Verified verified, std::uint64_t generation) {
  if (options_.cache_ttl <= absl::ZeroDuration()) return;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (generation != generation_) return;
  if (cache_.size() >= kMaxCachedTokens) cache_.clear();
  cache_.insert_or_assign(hash, std::move(verified));
}

void TokenAuth::ForgetAll() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_.clear();
  ++generation_;
}

std::uint64_t TokenAuth::Generation() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return generation_;
}

absl::StatusOr<api::Principal> TokenAuth::AuthenticateApiToken(std::string_view token) {
  const std::string hash = Sha256Hex(token);
  const absl::Time now = context_.clock->Now();
  if (std::optional<api::Principal> cached = Cached(hash, now)) return *cached;
  const std::uint64_t generation = Generation();
  store::ApiToken row;
  absl::Status read = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(row, tx.GetApiToken(hash));
    return absl::OkStatus();
  });
  if (absl::IsNotFound(read)) return absl::UnauthenticatedError("unknown token");
  if (!read.ok()) return read;
  if (!ConstantTimeEquals(row.sha256, hash)) return absl::UnauthenticatedError("unknown token");
  if (row.expires_at.has_value() && *row.expires_at <= now) {
    return absl::UnauthenticatedError(StrCat("token ", QuoteForMessage(row.name), " expired"));
  }
  if (!row.last_used_at.has_value() || now - *row.last_used_at >= options_.last_used_granularity) {
    NoteTokenUse(hash, now);
    row.last_used_at = now;  // the cache admits the token until the next use is due
  }
  api::Principal principal{.name = row.name, .role = ApiRoleOf(row.role), .agent_host = ""};
  Remember(hash,
           Verified{.principal = principal,
                    .expires_at = row.expires_at,
                    .last_used = row.last_used_at,
                    .verified_at = now},
           generation);
  return principal;
}

absl::StatusOr<api::Principal> TokenAuth::AuthenticateAgent(std::string_view token) {
  std::string_view rest = token.substr(kAgentCredentialPrefix.size());
  std::size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return absl::UnauthenticatedError("malformed agent credential");
  }
  const std::string agent(rest.substr(0, dot));
  const std::string hash = Sha256Hex(token);
  const absl::Time now = context_.clock->Now();
  if (std::optional<api::Principal> cached = Cached(hash, now)) return *cached;
  const std::uint64_t generation = Generation();
  store::AgentCredential row;
  absl::Status read = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(row, tx.GetAgentCredential(agent));
    return absl::OkStatus();
  });
  if (absl::IsNotFound(read)) return absl::UnauthenticatedError("unknown agent credential");
  if (!read.ok()) return read;
  if (!ConstantTimeEquals(row.secret_sha256, hash)) {
    return absl::UnauthenticatedError("unknown agent credential");
  }
  if (row.revoked) return absl::UnauthenticatedError("agent credential revoked");
  if (!row.last_seen_at.has_value() || now - *row.last_seen_at >= options_.last_used_granularity) {
    NoteAgentUse(agent, now);
    row.last_seen_at = now;
  }
  api::Principal principal{
      .name = StrCat("agent:", agent), .role = api::Role::kAgent, .agent_host = agent};
  Remember(hash,
           Verified{.principal = principal,
                    .expires_at = std::nullopt,
                    .last_used = row.last_seen_at,
                    .verified_at = now},
           generation);
  return principal;
}

void TokenAuth::NoteTokenUse(const std::string& hash, absl::Time now) {
  std::lock_guard<std::mutex> lock(pending_mu_);
  absl::Time& at = pending_tokens_[hash];
  at = std::max(at, now);
}

void TokenAuth::NoteAgentUse(const std::string& agent, absl::Time now) {
  std::lock_guard<std::mutex> lock(pending_mu_);
  absl::Time& at = pending_agents_[agent];
  at = std::max(at, now);
}

absl::Status TokenAuth::FlushLastUse() {
  std::map<std::string, absl::Time> tokens, agents;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    tokens.swap(pending_tokens_);
    agents.swap(pending_agents_);
  }
  if (tokens.empty() && agents.empty()) return absl::OkStatus();
  absl::Status s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    for (const auto& [hash, at] : tokens) {
      GPUFLEET_RETURN_IF_ERROR(tx.TouchApiTokenUse(hash, at));
    }
    for (const auto& [agent, at] : agents) {
      GPUFLEET_RETURN_IF_ERROR(tx.TouchAgentCredentialUse(agent, at));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {  // keep them for the next flush, unless a later use was noted meanwhile
    std::lock_guard<std::mutex> lock(pending_mu_);
    for (const auto& [hash, at] : tokens) pending_tokens_.try_emplace(hash, at);
    for (const auto& [agent, at] : agents) pending_agents_.try_emplace(agent, at);
  }
  return s;
}

void TokenAuth::OnAuthFailure(const api::AuthFailure& failure) {
  nlohmann::json data = {{"method", failure.method}, {"route", failure.route}};
  if (!failure.principal.empty()) data["principal"] = failure.principal;
  (void)context_.store->Write([&](store::WriteTx& tx) {
    return AppendEvent(tx, StrCat("auth.", api::AuthFailureKindName(failure.kind)), "",
                       failure.peer_address, failure.reason, data);
  });
}

absl::Status TokenAuth::StoreToken(std::string_view name, store::Role role, std::string_view secret,
                                   std::optional<absl::Time> expires_at, std::string_view actor,
                                   bool only_if_none) {
  GPUFLEET_RETURN_IF_ERROR(CheckName(name, "name"));
  return context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    if (only_if_none) {
      GPUFLEET_ASSIGN_OR_RETURN(auto tokens, tx.ListApiTokens());
      if (!tokens.empty()) return absl::AlreadyExistsError("API tokens exist already");
    }
    store::ApiToken row;
    row.sha256 = Sha256Hex(secret);
    row.name = std::string(name);
    row.role = role;
    row.expires_at = expires_at;
    absl::Status created = tx.CreateApiToken(row);
    if (absl::IsAlreadyExists(created)) {
      return WithField(
          absl::AlreadyExistsError(StrCat("token name ", QuoteForMessage(name), " is in use")),
          "name");
    }
    GPUFLEET_RETURN_IF_ERROR(created);
    return AppendEvent(tx, "token.created", StrCat("token/", name), actor,
                       StrCat("token ", name, " created with role ", store::RoleName(role)));
  });
}

absl::StatusOr<std::string> TokenAuth::CreateToken(std::string_view name, store::Role role,
                                                   std::optional<absl::Time> expires_at,
                                                   std::string_view actor) {
  GPUFLEET_ASSIGN_OR_RETURN(std::string secret, NewSecret(kApiTokenPrefix));
  GPUFLEET_RETURN_IF_ERROR(StoreToken(name, role, secret, expires_at, actor, false));
  return secret;
}

absl::StatusOr<std::optional<std::string>> TokenAuth::BootstrapAdminToken(
    std::string_view data_dir) {
  bool any = false;
  if (absl::Status listed = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
        GPUFLEET_ASSIGN_OR_RETURN(auto tokens, tx.ListApiTokens());
        any = !tokens.empty();
        return absl::OkStatus();
      });
      !listed.ok())
    return listed;
  if (any) return std::nullopt;
  GPUFLEET_ASSIGN_OR_RETURN(std::string secret, NewSecret(kApiTokenPrefix));
  GPUFLEET_RETURN_IF_ERROR(WriteSecretFile(StrCat(data_dir, "/", kAdminTokenFile), secret));
  absl::Status stored = StoreToken("admin", store::Role::kAdmin, secret, std::nullopt, "", true);
  if (absl::IsAlreadyExists(stored)) return std::nullopt;  // another process was first
  GPUFLEET_RETURN_IF_ERROR(stored);
  return secret;
}

absl::Status TokenAuth::AddRoutes(api::Router& router) {
  using api::Access;
  GPUFLEET_RETURN_IF_ERROR(router.Add("POST", "/api/v1/tokens", Access::Admin(),
                                      [this](const api::Request& r) { return PostToken(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/tokens", Access::Admin(),
                                      [this](const api::Request& r) { return ListTokens(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("DELETE", "/api/v1/tokens/{name}", Access::Admin(),
                                      [this](const api::Request& r) { return DeleteToken(r); }));
  GPUFLEET_RETURN_IF_ERROR(
      router.Add("POST", "/api/v1/enrolment-tokens", Access::Admin(),
                 [this](const api::Request& r) { return PostEnrolmentToken(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/agents", Access::Admin(),
                                      [this](const api::Request& r) { return ListAgents(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("DELETE", "/api/v1/agents/{agent}", Access::Admin(),
                                      [this](const api::Request& r) { return RevokeAgent(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/whoami", Access::Viewer(),
                                      [](const api::Request& r) { return WhoAmI(r); }));
  return router.Add("POST", "/api/v1/agents/enrol", Access::Public(),
                    [this](const api::Request& r) { return Enrol(r); });
}

api::Response TokenAuth::ListAgents(const api::Request&) {
  nlohmann::json items = nlohmann::json::array();
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::AgentCredential> rows, tx.ListAgentCredentials());
    for (const store::AgentCredential& c : rows) {
      items.push_back({{"agent", c.agent},
                       {"revoked", c.revoked},
                       {"created_at", TimeText(c.created_at)},
                       {"last_seen_at", TimeOrNull(c.last_seen_at)}});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}});
}

api::Response TokenAuth::RevokeAgent(const api::Request& request) {
  const std::string agent(request.PathParam("agent"));
  absl::Status s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    absl::StatusOr<store::AgentCredential> row = tx.GetAgentCredential(agent);
    if (absl::IsNotFound(row.status())) {
      return WithField(
          absl::NotFoundError(StrCat("agent ", QuoteForMessage(agent), " has no credential")),
          "agent");
    }
    GPUFLEET_RETURN_IF_ERROR(row.status());
    if (row->revoked) return absl::OkStatus();  // idempotent
    row->revoked = true;
    GPUFLEET_RETURN_IF_ERROR(tx.UpdateAgentCredential(*row));
    return AppendEvent(tx, "agent.revoked", StrCat("agent/", agent), ActorOf(request),
                       StrCat("agent ", agent,
                              "'s credential revoked; it must enrol again with a new "
                              "enrolment token"));
  });
  if (!s.ok()) return api::Response::Error(s);
  ForgetAll();
  return api::Response::NoContent();
}

api::Response TokenAuth::WhoAmI(const api::Request& request) {
  if (!request.principal.has_value()) {
    return api::Response::Error(absl::UnauthenticatedError("no credentials"));
  }
  return api::Response::Json(
      {{"name", request.principal->name}, {"role", api::RoleName(request.principal->role)}});
}

api::Response TokenAuth::PostToken(const api::Request& request) {
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<TokenRequest> decoded = DecodeTokenRequest(*body);
  if (!decoded.ok()) return api::Response::Error(decoded.status());
  const std::string& name = decoded->name;
  std::optional<absl::Time> expires;
  if (decoded->expires_in_seconds.has_value()) {
    expires = context_.clock->Now() + absl::Seconds(*decoded->expires_in_seconds);
  }
  absl::StatusOr<std::string> secret = CreateToken(name, decoded->role, expires, ActorOf(request));
  if (!secret.ok()) return api::Response::Error(secret.status());
  nlohmann::json out = {{"name", name},
                        {"role", store::RoleName(decoded->role)},
                        {"token", *secret},
                        {"expires_at", TimeOrNull(expires)}};
  return api::Response::Json(out, 201).SetHeader("Location", StrCat("/api/v1/tokens/", name));
}

api::Response TokenAuth::ListTokens(const api::Request&) {
  nlohmann::json items = nlohmann::json::array();
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(auto tokens, tx.ListApiTokens());
    for (const store::ApiToken& t : tokens) items.push_back(TokenJson(t));
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}});
}

api::Response TokenAuth::DeleteToken(const api::Request& request) {
  const std::string name(request.PathParam("name"));
  absl::Status s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(auto tokens, tx.ListApiTokens());
    const store::ApiToken* victim = nullptr;
    int admins = 0;
    for (const store::ApiToken& t : tokens) {
      if (t.name == name) victim = &t;
      if (t.role == store::Role::kAdmin) ++admins;
    }
    if (victim == nullptr) {
      return absl::NotFoundError(StrCat("token ", QuoteForMessage(name), " not found"));
    }
    if (victim->role == store::Role::kAdmin && admins == 1) {
      return absl::FailedPreconditionError(
          StrCat("token ", QuoteForMessage(name),
                 " is the last admin token; create another admin token first"));
    }
    GPUFLEET_RETURN_IF_ERROR(tx.DeleteApiToken(victim->sha256, store::kAnyVersion));
    return AppendEvent(tx, "token.deleted", StrCat("token/", name), ActorOf(request),
                       StrCat("token ", name, " deleted"));
  });
  if (!s.ok()) return api::Response::Error(s);
  ForgetAll();
  return api::Response::NoContent();
}

api::Response TokenAuth::PostEnrolmentToken(const api::Request& request) {
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<EnrolmentTokenRequest> decoded = DecodeEnrolmentTokenRequest(*body);
  if (!decoded.ok()) return api::Response::Error(decoded.status());
  const std::string& host = decoded->host;
  const absl::Time now = context_.clock->Now();
  const absl::Time expires = decoded->expires_in_seconds.has_value()
                                 ? now + absl::Seconds(*decoded->expires_in_seconds)
                                 : now + options_.default_enrolment_ttl;
  absl::StatusOr<std::string> secret = NewSecret(kEnrolmentTokenPrefix);
  if (!secret.ok()) return api::Response::Error(secret.status());
  absl::Status s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    store::EnrolmentToken row;
    row.sha256 = Sha256Hex(*secret);
    row.name = host;
    row.expires_at = expires;
    GPUFLEET_RETURN_IF_ERROR(tx.CreateEnrolmentToken(row));
    return AppendEvent(
        tx, "enrolment-token.created", StrCat("host/", host), ActorOf(request),
        StrCat("enrolment token issued for host ", host, ", expires ", TimeText(expires)));
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(
      {{"host", host}, {"token", *secret}, {"expires_at", TimeText(expires)}}, 201);
}

api::Response TokenAuth::Enrol(const api::Request& request) {
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<EnrolRequest> decoded = DecodeEnrolRequest(*body);
  if (!decoded.ok()) return api::Response::Error(decoded.status());
  const std::string& token = decoded->token;
  if (!token.starts_with(kEnrolmentTokenPrefix)) {
    return api::Response::Error(absl::UnauthenticatedError("malformed enrolment token"));
  }
  absl::StatusOr<std::string> secret = NewSecret("");
  if (!secret.ok()) return api::Response::Error(secret.status());
  const absl::Time now = context_.clock->Now();
  std::string agent;
  std::string credential;
  absl::Status s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    const std::string hash = Sha256Hex(token);
    absl::StatusOr<store::EnrolmentToken> issued = tx.GetEnrolmentToken(hash);
    if (absl::IsNotFound(issued.status())) {
      return absl::UnauthenticatedError("enrolment token unknown, used or expired");
    }
    GPUFLEET_RETURN_IF_ERROR(issued.status());
    absl::StatusOr<store::EnrolmentToken> used =
        store::ConsumeEnrolmentToken(tx, hash, issued->name, now);
    if (absl::IsFailedPrecondition(used.status())) {
      return absl::UnauthenticatedError("enrolment token unknown, used or expired");
    }
    GPUFLEET_RETURN_IF_ERROR(used.status());
    agent = used->name;
    credential = StrCat(kAgentCredentialPrefix, agent, ".", *secret);
    absl::StatusOr<store::AgentCredential> existing = tx.GetAgentCredential(agent);
    if (existing.ok()) {
      existing->secret_sha256 = Sha256Hex(credential);
      existing->revoked = false;
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateAgentCredential(*existing));
    } else if (absl::IsNotFound(existing.status())) {
      store::AgentCredential row;
      row.agent = agent;
      row.secret_sha256 = Sha256Hex(credential);
      GPUFLEET_RETURN_IF_ERROR(tx.CreateAgentCredential(row));
    } else {
      return existing.status();
    }
    return AppendEvent(tx, "agent.enrolled", StrCat("host/", agent), StrCat("agent:", agent),
                       StrCat("agent for host ", agent, " enrolled"));
  });
  if (!s.ok()) return api::Response::Error(s);
  ForgetAll();  // the agent's previous credential is no longer valid
  return api::Response::Json({{"agent", agent}, {"host", agent}, {"credential", credential}}, 201);
}

}  // namespace gpufleet::controller
