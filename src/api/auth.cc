#include "api/auth.h"

#include "common/strings.h"

namespace gpufleet::api {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kAgent:
      return "agent";
  }
  return "unknown";
}

std::string_view AuthFailureKindName(AuthFailure::Kind kind) {
  switch (kind) {
    case AuthFailure::Kind::kMissingCredentials:
      return "missing_credentials";
    case AuthFailure::Kind::kInvalidToken:
      return "invalid_token";
    case AuthFailure::Kind::kForbidden:
      return "forbidden";
    case AuthFailure::Kind::kRateLimited:
      return "rate_limited";
  }
  return "unknown";
}

std::string Access::ToString() const {
  if (is_public) return "public";
  std::string out;
  if (agent_host_param.has_value()) out = StrCat("agent(", *agent_host_param, ")");
  if (min_role.has_value()) {
    if (!out.empty()) out += "|";
    out += RoleName(*min_role);
  }
  return out.empty() ? "nobody" : out;
}

namespace {

int Rank(Role role) {
  switch (role) {
    case Role::kViewer:
      return 1;
    case Role::kOperator:
      return 2;
    case Role::kAdmin:
      return 3;
    case Role::kAgent:
      return 0;
  }
  return 0;
}

}  // namespace

absl::Status Authorize(const Access& access, const Principal& principal, const PathParams& params) {
  if (access.is_public) return absl::OkStatus();
  if (principal.role == Role::kAgent) {
    if (!access.agent_host_param.has_value()) {
      return absl::PermissionDeniedError(
          StrCat("agent ", QuoteForMessage(principal.name), " may not use this route"));
    }
    auto it = params.find(*access.agent_host_param);
    if (it == params.end() || it->second != principal.agent_host) {
      return absl::PermissionDeniedError(StrCat("agent ", QuoteForMessage(principal.name),
                                                " may only act for host ",
                                                QuoteForMessage(principal.agent_host)));
    }
    return absl::OkStatus();
  }
  if (!access.min_role.has_value()) {
    return absl::PermissionDeniedError("this route is for agents only");
  }
  if (Rank(principal.role) < Rank(*access.min_role)) {
    return absl::PermissionDeniedError(StrCat("role ", RoleName(principal.role),
                                              " may not use this route; it needs ",
                                              RoleName(*access.min_role)));
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::api
