#ifndef GPUFLEET_CLI_ONLINE_TOKENS_H_
#define GPUFLEET_CLI_ONLINE_TOKENS_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

struct TokensOptions {
  enum class What { kCreate, kList, kDelete };
  What what = What::kList;
  std::string name;
  std::string role;                       // create: viewer, operator or admin
  std::optional<int> expires_in_seconds;  // create
};

// `gpufleet tokens create|list|delete` (admin). create prints the new secret once - the
// controller keeps only its hash; list never shows secrets; deleting the last admin token is
// refused (FailedPrecondition).
absl::Status RunTokens(Context& ctx, const TokensOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_TOKENS_H_
