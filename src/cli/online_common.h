#ifndef GPUFLEET_CLI_ONLINE_COMMON_H_
#define GPUFLEET_CLI_ONLINE_COMMON_H_

// Small helpers shared by the online_*.cc commands.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cli/client.h"
#include "cli/context.h"
#include "nlohmann/json.hpp"

namespace gpufleet::cli {

// Percent-encodes everything but unreserved characters, for a path segment or a query value.
[[nodiscard]] std::string UrlEscape(std::string_view s);

// The string at `key` of `j`, or `absent` when it is missing, null or empty.
[[nodiscard]] std::string StrOr(const nlohmann::json& j, std::string_view key,
                                std::string_view absent = "-");

// The client of an online command, or Internal when RunCli did not connect one.
absl::StatusOr<Client*> ClientOf(const Context& ctx);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_COMMON_H_
