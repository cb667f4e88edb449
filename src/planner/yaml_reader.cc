#include "planner/yaml_reader.h"

#include <cstdint>
#include <vector>

#include "common/strings.h"

namespace gpufleet::planner {
namespace {

std::string Describe(const YamlNode& node) {
  if (node.kind == YamlNode::Kind::kScalar) return QuoteForMessage(node.scalar);
  return std::string(YamlKindName(node.kind));
}

// A decimal integer with an optional '-'; nullopt when malformed or beyond +-2^31.
std::optional<std::int64_t> ParseInteger(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

// Map keys as they appear in field paths: plain when they look like identifiers, quoted (and
// shortened) otherwise, so a hostile key cannot flood a terminal.
std::string KeyForPath(std::string_view key) {
  const bool plain = !key.empty() && key.size() <= 64 &&
                     key.find_first_not_of(
                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789_-") == std::string_view::npos;
  return plain ? std::string(key) : QuoteForMessage(key, 40);
}

}  // namespace

void YamlErrors::Fail(int line, int column, std::string_view path, std::string_view why) {
  if (!status_.ok()) return;
  status_ = absl::InvalidArgumentError(
      StrCat(file_name_, ":", line, ":", column, ": ", path, path.empty() ? "" : ": ", why));
}

std::string IndexPath(std::string_view path, std::size_t i) { return StrCat(path, "[", i, "]"); }

std::optional<int> ParseSizeMib(std::string_view text, int max_mib) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::optional<int> number = ParseNonNegativeInt(text.substr(0, digits));
  if (!number) return std::nullopt;
  const std::string unit = AsciiLower(StripAsciiWhitespace(text.substr(digits)));
  std::int64_t mib = *number;
  if (unit == "g" || unit == "gb" || unit == "gib") {
    mib *= 1024;
  } else if (!(unit.empty() || unit == "m" || unit == "mb" || unit == "mib")) {
    return std::nullopt;
  }
  if (mib > max_mib) return std::nullopt;
  return static_cast<int>(mib);
}

std::optional<std::string> ReadString(YamlErrors& errors, const YamlNode& node,
                                      std::string_view path) {
  if (node.kind != YamlNode::Kind::kScalar) {
    errors.Fail(node, path, StrCat("expected a string, got ", Describe(node)));
    return std::nullopt;
  }
  return node.scalar;
}

std::optional<int> ReadInt(YamlErrors& errors, const YamlNode& node, std::string_view path, int min,
                           int max) {
  std::optional<std::int64_t> v;
  if (node.kind == YamlNode::Kind::kScalar) v = ParseInteger(node.scalar);
  if (!v) {
    errors.Fail(node, path, StrCat("expected an integer, got ", Describe(node)));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    errors.Fail(node, path, StrCat("expected an integer from ", min, " to ", max, ", got ", *v));
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

std::optional<bool> ReadBool(YamlErrors& errors, const YamlNode& node, std::string_view path) {
  if (node.kind == YamlNode::Kind::kScalar) {
    const std::string t = AsciiLower(node.scalar);
    if (t == "true" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "no" || t == "off") return false;
  }
  errors.Fail(node, path, StrCat("expected true or false, got ", Describe(node)));
  return std::nullopt;
}

std::optional<int> ReadSizeMib(YamlErrors& errors, const YamlNode& node, std::string_view path,
                               int max_mib) {
  std::optional<int> v;
  if (node.kind == YamlNode::Kind::kScalar) v = ParseSizeMib(node.scalar, max_mib);
  if (!v) {
    errors.Fail(node, path,
                StrCat("expected a size such as 8G, 512M or 8192 (MiB) of at most ", max_mib / 1024,
                       "G, got ", Describe(node)));
  }
  return v;
}

std::map<std::string, std::string> ReadStringMap(YamlErrors& errors, const YamlNode& node,
                                                 std::string_view path, std::size_t max_entries) {
  std::map<std::string, std::string> out;
  if (node.kind == YamlNode::Kind::kNull) return out;
  if (node.kind != YamlNode::Kind::kMap) {
    errors.Fail(node, path, StrCat("expected a map of names to values, got ", Describe(node)));
    return out;
  }
  if (node.children.size() > max_entries) {
    errors.Fail(node, path, StrCat("more than ", max_entries, " entries"));
    return out;
  }
  for (const YamlNode& value : node.children) {
    const std::string entry_path = StrCat(path, ".", KeyForPath(value.key));
    if (value.key.empty()) errors.Fail(value.key_line, value.key_column, path, "empty key");
    if (std::optional<std::string> v = ReadString(errors, value, entry_path)) out[value.key] = *v;
  }
  return out;
}

YamlMap::YamlMap(YamlErrors& errors, const YamlNode& node, std::string path)
    : errors_(errors), node_(node), path_(std::move(path)) {
  if (node.kind != YamlNode::Kind::kMap && node.kind != YamlNode::Kind::kNull) {
    errors_.Fail(node, path_, StrCat("expected a map, got ", Describe(node)));
  }
}

std::string YamlMap::PathOf(std::string_view key) const {
  return path_.empty() ? KeyForPath(key) : StrCat(path_, ".", KeyForPath(key));
}

const YamlNode* YamlMap::Find(std::string_view key) const {
  if (node_.kind != YamlNode::Kind::kMap) return nullptr;
  for (const YamlNode& child : node_.children) {
    if (child.key == key) return &child;
  }
  return nullptr;
}

const YamlNode* YamlMap::Get(std::string_view key) {
  known_.emplace(key);
  const YamlNode* v = Find(key);
  return v != nullptr && v->kind != YamlNode::Kind::kNull ? v : nullptr;
}

const YamlNode* YamlMap::Require(std::string_view key) {
  const YamlNode* v = Get(key);
  if (v != nullptr) return v;
  if (Find(key) == nullptr && node_.kind == YamlNode::Kind::kMap) {
    // "bord: P40" is more likely a typo than a missing board: point at the typo.
    for (const YamlNode& child : node_.children) {
      if (known_.contains(child.key) || !ClosestMatch(child.key, {std::string(key)})) continue;
      errors_.Fail(child.key_line, child.key_column, PathOf(child.key),
                   StrCat("unknown field; did you mean ", key, "?"));
      return nullptr;
    }
  }
  errors_.Fail(node_, PathOf(key), "required field is missing");
  return nullptr;
}

const YamlNode* YamlMap::List(std::string_view key, bool required) {
  const YamlNode* v = required ? Require(key) : Get(key);
  if (v != nullptr && v->kind != YamlNode::Kind::kSequence) {
    errors_.Fail(*v, PathOf(key), StrCat("expected a list, got ", Describe(*v)));
    return nullptr;
  }
  return v;
}

std::optional<std::string> YamlMap::OptString(std::string_view key) {
  const YamlNode* v = Get(key);
  return v ? ReadString(errors_, *v, PathOf(key)) : std::nullopt;
}

std::optional<int> YamlMap::OptInt(std::string_view key, int min, int max) {
  const YamlNode* v = Get(key);
  return v ? ReadInt(errors_, *v, PathOf(key), min, max) : std::nullopt;
}

std::optional<bool> YamlMap::OptBool(std::string_view key) {
  const YamlNode* v = Get(key);
  return v ? ReadBool(errors_, *v, PathOf(key)) : std::nullopt;
}

std::optional<int> YamlMap::OptSizeMib(std::string_view key, int max_mib) {
  const YamlNode* v = Get(key);
  return v ? ReadSizeMib(errors_, *v, PathOf(key), max_mib) : std::nullopt;
}

void YamlMap::Fail(std::string_view key, std::string_view why) {
  const YamlNode* v = Find(key);
  errors_.Fail(v ? *v : node_, PathOf(key), why);
}

void YamlMap::Finish() {
  if (node_.kind != YamlNode::Kind::kMap) return;
  for (const YamlNode& child : node_.children) {
    if (known_.contains(child.key)) continue;
    std::string why = "unknown field";
    if (auto near = ClosestMatch(child.key, std::vector<std::string>(known_.begin(), known_.end())))
      StrAppend(&why, "; did you mean ", *near, "?");
    errors_.Fail(child.key_line, child.key_column, PathOf(child.key), why);
    return;
  }
}

}  // namespace gpufleet::planner
