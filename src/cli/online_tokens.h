#ifndef GPUFLEET_CLI_ONLINE_TOKENS_H_
#define GPUFLEET_CLI_ONLINE_TOKENS_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

struct TokensOptions {
  enum class What { kCreate, kList, kDelete, kEnrol };
  What what = What::kList;
  std::string name;                       // create/delete: the token; enrol: the host
  std::string role;                       // create: viewer, operator or admin
  std::optional<int> expires_in_seconds;  // create, enrol
};

// `gpufleet tokens create|list|delete` (admin). create prints the new secret once - the
// controller keeps only its hash; list never shows secrets; deleting the last admin token is
// refused (FailedPrecondition). `gpufleet tokens enrol HOST` issues the single-use, expiring
// enrolment token the agent of HOST exchanges for its own credential.
absl::Status RunTokens(Context& ctx, const TokensOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_TOKENS_H_
