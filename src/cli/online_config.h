#ifndef GPUFLEET_CLI_ONLINE_CONFIG_H_
#define GPUFLEET_CLI_ONLINE_CONFIG_H_

// Where the online commands find their controller and token: flags, then the environment, then
// the config file (~/.config/gpufleet/config.yaml). Each setting is taken from the first of these
// that has it.

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/app.h"
#include "cli/client.h"

namespace gpufleet::cli {

// Raw values of the global flags --server, --token, --token-file, --ca-file and --config.
struct ConnectionFlags {
  std::optional<std::string> server = std::nullopt;
  std::optional<std::string> token = std::nullopt;
  std::optional<std::string> token_file = std::nullopt;
  std::optional<std::string> ca_file = std::nullopt;
  std::optional<std::string> config = std::nullopt;
};

// Token files and CA files are small; bound what a wrong path can make us read.
inline constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

// Resolves the connection from flags, $GPUFLEET_SERVER / $GPUFLEET_TOKEN / $GPUFLEET_TOKEN_FILE /
// $GPUFLEET_CA_FILE / $GPUFLEET_CONFIG, and the config file (--config, $GPUFLEET_CONFIG, else
// $XDG_CONFIG_HOME/gpufleet/config.yaml or $HOME/.config/gpufleet/config.yaml when it exists).
// The config file is YAML with the keys server, token, token_file, ca_file; relative paths in it
// are relative to its directory, and "~/" is $HOME. Files are read through env.fs.
// Errors are InvalidArgument and say how to fix the setting; none contains the token.
absl::StatusOr<ClientOptions> ResolveConnection(const ConnectionFlags& flags,
                                                const Environment& env);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_CONFIG_H_
