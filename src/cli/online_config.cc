#include "cli/online_config.h"

#include <cstdlib>

#include "common/strings.h"
#include "planner/yaml_tree.h"

namespace gpufleet::cli {
namespace {

constexpr char kServerHelp[] =
    "no controller configured: pass --server URL (e.g. --server http://127.0.0.1:8470), set "
    "$GPUFLEET_SERVER, or write 'server: URL' to ~/.config/gpufleet/config.yaml "
    "(docs/cli-online.md)";
constexpr char kTokenHelp[] =
    "no token configured: pass --token or --token-file, set $GPUFLEET_TOKEN, or write "
    "'token_file: PATH' to ~/.config/gpufleet/config.yaml. The first admin token is in the "
    "controller's data directory (admin-token); 'gpufleet tokens create' makes more";

// The settings found in one place, with where they came from for messages.
struct Layer {
  std::string origin = {};  // "the command line", "the environment", the config file's path
  std::optional<std::string> server = std::nullopt;
  std::optional<std::string> token = std::nullopt;
  std::optional<std::string> token_file = std::nullopt;
  std::optional<std::string> ca_file = std::nullopt;
};

std::string ExpandPath(const std::string& path, const std::string& base_dir,
                       const Environment& env) {
  if (path.starts_with("~/")) {
    if (std::optional<std::string> home = GetEnv(env, "HOME")) return StrCat(*home, path.substr(1));
  }
  if (!path.starts_with("/") && !base_dir.empty()) return StrCat(base_dir, "/", path);
  return path;
}

absl::StatusOr<Layer> ReadConfigFile(const std::string& path, const Environment& env) {
  absl::StatusOr<std::string> text = env.fs->ReadFile(path, kMaxConfigFileBytes);
  if (!text.ok()) {
    return absl::InvalidArgumentError(StrCat("config file: ", ToStd(text.status().message())));
  }
  absl::StatusOr<planner::YamlNode> root = planner::ParseYaml(*text, path);
  if (!root.ok()) return absl::InvalidArgumentError(root.status().message());
  Layer layer{.origin = path};
  if (root->kind == planner::YamlNode::Kind::kNull) return layer;
  if (root->kind != planner::YamlNode::Kind::kMap) {
    return absl::InvalidArgumentError(StrCat(path,
                                             ": expected a map with server, token, "
                                             "token_file, ca_file"));
  }
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
  for (const planner::YamlNode& n : root->children) {
    // Values are never quoted back: one of them may be a token.
    if (n.kind != planner::YamlNode::Kind::kScalar) {
      return absl::InvalidArgumentError(
          StrCat(path, ":", n.line, ":", n.column, ": ", n.key, ": expected a string"));
    }
    if (n.key == "server") {
      layer.server = n.scalar;
    } else if (n.key == "token") {
      layer.token = n.scalar;
    } else if (n.key == "token_file") {
      layer.token_file = ExpandPath(n.scalar, dir, env);
    } else if (n.key == "ca_file") {
      layer.ca_file = ExpandPath(n.scalar, dir, env);
    } else {
      return absl::InvalidArgumentError(StrCat(path, ":", n.key_line, ":", n.key_column,
                                               ": unknown key ", QuoteForMessage(n.key),
                                               " (expected server, token, token_file, ca_file)"));
    }
  }
  if (layer.token.has_value() && layer.token_file.has_value()) {
    return absl::InvalidArgumentError(StrCat(path, ": give token or token_file, not both"));
  }
  return layer;
}

// A token is one printable word; anything else (a pasted line with spaces, a second line) would
// corrupt the header or leak into a log, so it is refused without being quoted.
absl::Status CheckToken(std::string_view token, std::string_view origin) {
  if (token.empty())
    return absl::InvalidArgumentError(StrCat("the token from ", origin, " is empty"));
  if (token.size() > 4096) {
    return absl::InvalidArgumentError(StrCat(
        "the token from ", origin, " is longer than 4096 characters; is it the right file?"));
  }
  for (char c : token) {
    if (c <= ' ' || c == 0x7f) {
      return absl::InvalidArgumentError(
          StrCat("the token from ", origin,
                 " holds spaces or control characters; a token is one word like gft_..."));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSmallFile(const Environment& env, const std::string& path,
                                          std::string_view what, std::string_view origin) {
  absl::StatusOr<std::string> text = env.fs->ReadFile(path, kMaxConfigFileBytes);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        StrCat(what, " (from ", origin, "): ", ToStd(text.status().message())));
  }
  return text;
}

}  // namespace

absl::StatusOr<ClientOptions> ResolveConnection(const ConnectionFlags& flags,
                                                const Environment& env) {
  if (env.fs == nullptr) return absl::InternalError("no file system in the CLI environment");
  std::vector<Layer> layers;
  layers.push_back(Layer{.origin = "the command line",
                         .server = flags.server,
                         .token = flags.token,
                         .token_file = flags.token_file,
                         .ca_file = flags.ca_file});
  if (flags.token.has_value() && flags.token_file.has_value()) {
    return absl::InvalidArgumentError("give --token or --token-file, not both");
  }
  layers.push_back(Layer{.origin = "the environment",
                         .server = GetEnv(env, "GPUFLEET_SERVER"),
                         .token = GetEnv(env, "GPUFLEET_TOKEN"),
                         .token_file = GetEnv(env, "GPUFLEET_TOKEN_FILE"),
                         .ca_file = GetEnv(env, "GPUFLEET_CA_FILE")});
  // Empty variables count as unset, as shells make them easily.
  for (std::optional<std::string>* v :
       {&layers[1].server, &layers[1].token, &layers[1].token_file, &layers[1].ca_file}) {
    if (v->has_value() && (*v)->empty()) v->reset();
  }
  if (layers[1].token.has_value()) layers[1].token_file.reset();  // $GPUFLEET_TOKEN wins

  std::optional<std::string> config_path = flags.config;
  if (!config_path) config_path = GetEnv(env, "GPUFLEET_CONFIG");
  if (config_path && !config_path->empty()) {
    absl::StatusOr<Layer> file = ReadConfigFile(*config_path, env);
    if (!file.ok()) return file.status();
    layers.push_back(*std::move(file));
  } else {
    std::optional<std::string> base = GetEnv(env, "XDG_CONFIG_HOME");
    if (!base || base->empty()) {
      std::optional<std::string> home = GetEnv(env, "HOME");
      if (home && !home->empty()) base = StrCat(*home, "/.config");
    }
    if (base && !base->empty()) {
      const std::string path = StrCat(*base, "/gpufleet/config.yaml");
      if (env.fs->Exists(path)) {
        absl::StatusOr<Layer> file = ReadConfigFile(path, env);
        if (!file.ok()) return file.status();
        layers.push_back(*std::move(file));
      }
    }
  }

  ClientOptions o;
  for (const Layer& l : layers) {
    if (l.server.has_value()) {
      o.server = *l.server;
      break;
    }
  }
  if (o.server.empty()) return absl::InvalidArgumentError(kServerHelp);

  for (const Layer& l : layers) {
    if (l.token.has_value()) {
      o.token = *l.token;
      if (absl::Status s = CheckToken(o.token, l.origin); !s.ok()) return s;
      break;
    }
    if (l.token_file.has_value()) {
      absl::StatusOr<std::string> text = ReadSmallFile(env, *l.token_file, "token file", l.origin);
      if (!text.ok()) return text.status();
      o.token = std::string(StripAsciiWhitespace(*text));
      if (absl::Status s = CheckToken(o.token, StrCat("token file ", *l.token_file)); !s.ok()) {
        return s;
      }
      break;
    }
  }
  if (o.token.empty()) return absl::InvalidArgumentError(kTokenHelp);

  for (const Layer& l : layers) {
    if (l.ca_file.has_value()) {
      absl::StatusOr<std::string> pem = ReadSmallFile(env, *l.ca_file, "CA file", l.origin);
      if (!pem.ok()) return pem.status();
      o.ca_pem = *std::move(pem);
      o.ca_file = *l.ca_file;
      break;
    }
  }
  return o;
}

std::optional<std::string> GetEnv(const Environment& env, const std::string& name) {
  if (env.getenv) return env.getenv(name);
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

}  // namespace gpufleet::cli
