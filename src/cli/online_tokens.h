#ifndef GPUFLEET_CLI_ONLINE_TOKENS_H_
#define GPUFLEET_CLI_ONLINE_TOKENS_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

struct TokensOptions {
  enum class What { kCreate, kList, kDelete, kEnrol, kAgents, kRevokeAgent };
  What what = What::kList;
  std::string name;  // create/delete: the token; enrol: the host; revoke-agent: the agent
  std::string role;  // create: viewer, operator or admin
  std::optional<int> expires_in_seconds;  // create, enrol
};

// `gpufleet tokens create|list|delete` (admin). create prints the new secret once - the
// controller keeps only its hash; list never shows secrets; deleting the last admin token is
// refused (FailedPrecondition). `gpufleet tokens enrol HOST` issues the single-use, expiring
// enrolment token the agent of HOST exchanges for its own credential. `gpufleet tokens agents`
// lists the agents' credentials; `gpufleet tokens revoke-agent AGENT` revokes one at once.
absl::Status RunTokens(Context& ctx, const TokensOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_TOKENS_H_
