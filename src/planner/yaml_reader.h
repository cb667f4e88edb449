#ifndef GPUFLEET_PLANNER_YAML_READER_H_
#define GPUFLEET_PLANNER_YAML_READER_H_

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "planner/yaml_tree.h"

namespace gpufleet::planner {

// Strict reading of a YamlNode tree, in the manner of JsonReader: every getter records the first
// error it meets and returns a harmless default, so a decoder reads straight through and asks
// once. Every message names the file, the 1-based line and column, and the field path:
//   "cluster.yaml:12:9: hosts[0].gpus[0].board: unknown board 'P4O'; did you mean P40?"
class YamlErrors {
 public:
  explicit YamlErrors(std::string file_name) : file_name_(std::move(file_name)) {}

  // Records an error at a position, unless one is recorded already. `path` may be empty.
  void Fail(int line, int column, std::string_view path, std::string_view why);
  void Fail(const YamlNode& at, std::string_view path, std::string_view why) {
    Fail(at.line, at.column, path, why);
  }
  [[nodiscard]] bool ok() const { return status_.ok(); }
  // InvalidArgument with the first message, or OK.
  [[nodiscard]] const absl::Status& status() const { return status_; }
  [[nodiscard]] const std::string& file_name() const { return file_name_; }

 private:
  std::string file_name_;
  absl::Status status_;
};

// "path[i]".
[[nodiscard]] std::string IndexPath(std::string_view path, std::size_t i);

// A size in MiB: "8G", "8GB", "8GiB" (all 1024 MiB per G, as vGPU type names count), "512M",
// "512MB", "512MiB", or a plain integer of MiB. nullopt when malformed or larger than `max_mib`.
[[nodiscard]] std::optional<int> ParseSizeMib(std::string_view text, int max_mib);

// Scalar conversions of one node; each records an error naming `path` and returns nullopt when
// the node is not of the expected shape.
std::optional<std::string> ReadString(YamlErrors& errors, const YamlNode& node,
                                      std::string_view path);
// Integers are decimal, optionally negative, within [min, max].
std::optional<int> ReadInt(YamlErrors& errors, const YamlNode& node, std::string_view path, int min,
                           int max);
// true/false, also yes/no and on/off, in any case.
std::optional<bool> ReadBool(YamlErrors& errors, const YamlNode& node, std::string_view path);
std::optional<int> ReadSizeMib(YamlErrors& errors, const YamlNode& node, std::string_view path,
                               int max_mib);
// A map of scalar keys to scalar values (labels), at most `max_entries`. A null node is empty.
std::map<std::string, std::string> ReadStringMap(YamlErrors& errors, const YamlNode& node,
                                                 std::string_view path, std::size_t max_entries);

// One map of a YAML document. Keys that no getter asked for are reported by Finish(), with a
// suggestion among the known ones, so that a typo stops the load instead of being ignored.
class YamlMap {
 public:
  // Records an error when `node` is not a map (a null node reads as an empty map).
  YamlMap(YamlErrors& errors, const YamlNode& node, std::string path);

  // The value under `key`, or nullptr when absent or null; marks the key as known.
  const YamlNode* Get(std::string_view key);
  // Like Get, but records "required field is missing" at the map's position.
  const YamlNode* Require(std::string_view key);
  // A list under `key` (nullptr when absent or null, with an error when required or not a list).
  const YamlNode* List(std::string_view key, bool required = false);

  std::optional<std::string> OptString(std::string_view key);
  std::optional<int> OptInt(std::string_view key, int min, int max);
  std::optional<bool> OptBool(std::string_view key);
  std::optional<int> OptSizeMib(std::string_view key, int max_mib);

  // Records an error about the value under `key` (at its position when present).
  void Fail(std::string_view key, std::string_view why);
  [[nodiscard]] std::string PathOf(std::string_view key) const;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const YamlNode& node() const { return node_; }
  [[nodiscard]] YamlErrors& errors() { return errors_; }

  // Records an error for the first key that no getter asked for.
  void Finish();

 private:
  const YamlNode* Find(std::string_view key) const;

  YamlErrors& errors_;
  const YamlNode& node_;
  std::string path_;
  std::set<std::string, std::less<>> known_;
};

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_YAML_READER_H_
