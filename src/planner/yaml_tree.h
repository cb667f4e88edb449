#ifndef GPUFLEET_PLANNER_YAML_TREE_H_
#define GPUFLEET_PLANNER_YAML_TREE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gpufleet::planner {

// A YAML document as plain data, with the 1-based position of every node, so that decoders read
// it without yaml-cpp and without exceptions. yaml_tree.cc is the one adapter between yaml-cpp's
// exceptions and absl::Status.
struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  int line = 1;
  int column = 1;
  std::string scalar;  // kScalar: the text, unquoted
  // Set on the children of a map: the entry's key and where the key is written.
  std::string key;
  int key_line = 1;
  int key_column = 1;
  std::vector<YamlNode> children;  // kSequence: the items; kMap: the values, in file order
};

[[nodiscard]] std::string_view YamlKindName(YamlNode::Kind kind);  // "a map", "a string", ...

struct YamlLimits {
  // Bounds the memory a hostile file can make us allocate (the caller bounds the file size).
  std::size_t max_nodes = 4'000'000;
};

// Parses one YAML document. Errors are InvalidArgument naming the file, line and column:
//   "cluster.yaml:3:5: invalid YAML: illegal map value". Besides malformed YAML, these are
// rejected: several documents in one file, aliases ("*name"), map keys that are not plain
// scalars, duplicate map keys, and more than limits.max_nodes nodes. Plain `null`, `~` and empty
// values are kNull; an empty document is a kNull root.
absl::StatusOr<YamlNode> ParseYaml(std::string_view text, std::string_view file_name,
                                   const YamlLimits& limits = {});

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_YAML_TREE_H_
