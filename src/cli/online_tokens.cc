#include "cli/online_tokens.h"

#include "cli/online_common.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

absl::Status Create(Client& client, const Context& ctx, const TokensOptions& o, std::ostream& out) {
  const std::string role = AsciiLower(o.role);
  if (role != "viewer" && role != "operator" && role != "admin") {
    return absl::InvalidArgumentError(
        StrCat("--role ", QuoteForMessage(o.role), ": expected viewer, operator or admin"));
  }
  json body = {{"name", o.name}, {"role", role}};
  if (o.expires_in_seconds) {
    if (*o.expires_in_seconds < 1) {
      return absl::InvalidArgumentError("--expires-in: expected a number of seconds >= 1");
    }
    body["expires_in_seconds"] = *o.expires_in_seconds;
  }
  absl::StatusOr<ApiReply> r = client.Do({.method = "POST",
                                          .path = "/api/v1/tokens",
                                          .body = body,
                                          .what = StrCat("tokens create ", o.name),
                                          .needs_role = "admin"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  out << "Created token " << StrOr(r->body, "name") << " with role " << StrOr(r->body, "role")
      << (r->body.value("expires_at", json()).is_string()
              ? StrCat(", expiring ", StrOr(r->body, "expires_at"))
              : std::string())
      << ". Its secret is shown this once; the controller keeps only a hash:\n\n  "
      << StrOr(r->body, "token") << "\n\n"
      << "Keep it in a file only you can read (chmod 600) and name it with 'token_file: PATH' in\n"
         "~/.config/gpufleet/config.yaml, or pass it in $GPUFLEET_TOKEN.\n";
  return absl::OkStatus();
}

absl::Status Enrol(Client& client, const Context& ctx, const TokensOptions& o, std::ostream& out) {
  json body = {{"host", o.name}};
  if (o.expires_in_seconds) {
    if (*o.expires_in_seconds < 1) {
      return absl::InvalidArgumentError("--expires-in: expected a number of seconds >= 1");
    }
    body["expires_in_seconds"] = *o.expires_in_seconds;
  }
  absl::StatusOr<ApiReply> r = client.Do({.method = "POST",
                                          .path = "/api/v1/enrolment-tokens",
                                          .body = body,
                                          .what = StrCat("tokens enrol ", o.name),
                                          .needs_role = "admin"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  out << "Enrolment token for host " << StrOr(r->body, "host") << ", single use, expiring "
      << StrOr(r->body, "expires_at") << ":\n\n  " << StrOr(r->body, "token") << "\n\n"
      << "On that host run:\n  gpufleetd agent --server " << client.server() << " --host "
      << StrOr(r->body, "host") << " --enrol-token <the token above>\n";
  return absl::OkStatus();
}

absl::Status List(Client& client, const Context& ctx, std::ostream& out) {
  absl::StatusOr<ApiReply> r = client.Do(
      {.method = "GET", .path = "/api/v1/tokens", .what = "tokens list", .needs_role = "admin"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  Table t({"NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED"});
  for (const json& tok : r->body.value("items", json::array())) {
    t.AddRow({StrOr(tok, "name"), StrOr(tok, "role"), StrOr(tok, "created_at"),
              StrOr(tok, "expires_at", "never"), StrOr(tok, "last_used_at", "never")});
  }
  t.Print(out);
  return absl::OkStatus();
}

absl::Status Delete(Client& client, const Context& ctx, const TokensOptions& o, std::ostream& out) {
  absl::StatusOr<ApiReply> r = client.Do({.method = "DELETE",
                                          .path = StrCat("/api/v1/tokens/", UrlEscape(o.name)),
                                          .what = StrCat("tokens delete ", o.name),
                                          .needs_role = "admin"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, json{{"deleted", o.name}}, out)) return absl::OkStatus();
  out << "Deleted token " << o.name << "; requests with it are refused from now on.\n";
  return absl::OkStatus();
}

absl::Status Agents(Client& client, const Context& ctx, std::ostream& out) {
  absl::StatusOr<ApiReply> r = client.Do(
      {.method = "GET", .path = "/api/v1/agents", .what = "tokens agents", .needs_role = "admin"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  const json& items = r->body.value("items", json::array());
  if (items.empty()) {
    out << "No agent has enrolled yet ('gpufleet tokens enrol HOST' issues a token for one).\n";
    return absl::OkStatus();
  }
  Table t({"AGENT", "STATE", "ENROLLED", "LAST SEEN"});
  for (const json& a : items) {
    t.AddRow({StrOr(a, "agent"), a.value("revoked", false) ? "revoked" : "active",
              StrOr(a, "created_at"), StrOr(a, "last_seen_at", "never")});
  }
  t.Print(out);
  return absl::OkStatus();
}

absl::Status RevokeAgent(Client& client, const Context& ctx, const TokensOptions& o,
                         std::ostream& out) {
  absl::StatusOr<ApiReply> r = client.Do({.method = "DELETE",
                                          .path = StrCat("/api/v1/agents/", UrlEscape(o.name)),
                                          .what = StrCat("tokens revoke-agent ", o.name),
                                          .needs_role = "admin"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, json{{"revoked", o.name}}, out)) return absl::OkStatus();
  out << "Revoked agent " << o.name << "'s credential: its requests are refused from now on. To "
      << "let it back in, issue a new enrolment token:\n  gpufleet tokens enrol " << o.name << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::Status RunTokens(Context& ctx, const TokensOptions& o, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  switch (o.what) {
    case TokensOptions::What::kCreate:
      if (o.name.empty()) return absl::InvalidArgumentError("NAME: required");
      return Create(**client, ctx, o, out);
    case TokensOptions::What::kList:
      return List(**client, ctx, out);
    case TokensOptions::What::kEnrol:
      if (o.name.empty()) return absl::InvalidArgumentError("HOST: required");
      return Enrol(**client, ctx, o, out);
    case TokensOptions::What::kDelete:
      if (o.name.empty()) return absl::InvalidArgumentError("NAME: required");
      return Delete(**client, ctx, o, out);
    case TokensOptions::What::kAgents:
      return Agents(**client, ctx, out);
    case TokensOptions::What::kRevokeAgent:
      if (o.name.empty()) return absl::InvalidArgumentError("AGENT: required");
      return RevokeAgent(**client, ctx, o, out);
  }
  return absl::InternalError("unknown tokens command");
}

}  // namespace gpufleet::cli
