#ifndef GPUFLEET_PLANNER_VM_YAML_H_
#define GPUFLEET_PLANNER_VM_YAML_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/catalog.h"
#include "planner/model.h"
#include "planner/yaml_reader.h"

namespace gpufleet::planner::yaml_internal {

// Pieces shared by the cluster and demand decoders (cluster_yaml.cc, vm_yaml.cc). Each records
// its error in `errors`, at the node's position, and returns nullopt/nullptr.

inline constexpr int kMaxNameLength = 253;

// A name of a host, GPU or VM: 1 to 253 characters, no control characters.
std::optional<std::string> ReadName(YamlErrors& errors, const YamlNode& node,
                                    std::string_view path);
const core::Board* ReadBoard(YamlErrors& errors, const YamlNode& node, std::string_view path,
                             const core::Catalog& catalog);
// A type in any spelling; with `board`, it must belong to that board.
const core::VgpuType* ReadType(YamlErrors& errors, const YamlNode& node, std::string_view path,
                               const core::Catalog& catalog, const core::Board* board = nullptr);
// A license edition id in any case; returns the catalog's spelling ("vWS").
std::optional<std::string> ReadEdition(YamlErrors& errors, const YamlNode& node,
                                       std::string_view path, const core::Catalog& catalog);
std::optional<core::DriverVersion> ReadDriver(YamlErrors& errors, const YamlNode& node,
                                              std::string_view path);

// One of a fixed set of words (case-insensitive), with a suggestion for a typo.
template <typename E>
std::optional<E> ReadEnum(YamlErrors& errors, const YamlNode& node, std::string_view path,
                          std::initializer_list<std::pair<std::string_view, E>> values);
std::optional<int> ReadEnumIndex(YamlErrors& errors, const YamlNode& node, std::string_view path,
                                 const std::vector<std::string_view>& words);

template <typename E>
std::optional<E> ReadEnum(YamlErrors& errors, const YamlNode& node, std::string_view path,
                          std::initializer_list<std::pair<std::string_view, E>> values) {
  std::vector<std::string_view> words;
  for (const auto& [word, value] : values) words.push_back(word);
  std::optional<int> i = ReadEnumIndex(errors, node, path, words);
  if (!i) return std::nullopt;
  return (values.begin() + *i)->second;
}

// The VM keys shared by both files (everything but a demand's `count`). `vm` is the VM's map.
Vm DecodeVm(YamlMap& vm, const core::Catalog& catalog);

}  // namespace gpufleet::planner::yaml_internal

#endif  // GPUFLEET_PLANNER_VM_YAML_H_
