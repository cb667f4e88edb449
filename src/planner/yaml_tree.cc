// The one adapter between yaml-cpp and absl::Status: yaml-cpp's event parser feeds a builder that
// makes a plain YamlNode tree, and every yaml-cpp exception is caught here. The event API (rather
// than YAML::Load) lets us see aliases and duplicate keys, which YAML::Node silently accepts, and
// keeps a position on every node and key.

#include "planner/yaml_tree.h"

#include <algorithm>
#include <exception>
#include <new>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "common/strings.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/exceptions.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"

namespace gpufleet::planner {
namespace {

bool IsPlainNull(const std::string& tag, const std::string& value) {
  return tag == "?" &&
         (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL");
}

class TreeBuilder final : public YAML::EventHandler {
 public:
  explicit TreeBuilder(std::size_t max_nodes) : max_nodes_(max_nodes) {}

  void OnDocumentStart(const YAML::Mark& mark) override { document_mark_ = mark; }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    Add(At(YamlNode::Kind::kNull, mark));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    // An alias would let a small file expand into a huge tree; hand-written cluster files do not
    // need them.
    Fail(mark, "aliases (*name) are not supported; write the value out");
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t /*anchor*/,
                const std::string& value) override {
    if (IsPlainNull(tag, value)) {
      Add(At(YamlNode::Kind::kNull, mark));
      return;
    }
    YamlNode n = At(YamlNode::Kind::kScalar, mark);
    n.scalar = value;
    Add(std::move(n));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {
    Open(At(YamlNode::Kind::kSequence, mark));
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {
    Open(At(YamlNode::Kind::kMap, mark));
  }
  void OnMapEnd() override { Close(); }

  [[nodiscard]] bool failed() const { return !error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] YamlNode TakeRoot() { return std::move(root_); }
  [[nodiscard]] const YAML::Mark& document_mark() const { return document_mark_; }

 private:
  struct Frame {
    YamlNode node;
    bool have_key = false;
    YamlNode key;
    std::unordered_set<std::string> keys;
  };

  static YamlNode At(YamlNode::Kind kind, const YAML::Mark& mark) {
    YamlNode n;
    n.kind = kind;
    n.line = std::max(1, mark.line + 1);
    n.column = std::max(1, mark.column + 1);
    return n;
  }

  void Fail(int line, int column, std::string_view why) {
    if (error_.empty()) error_ = StrCat(line, ":", column, ": ", why);
  }
  void Fail(const YAML::Mark& mark, std::string_view why) {
    Fail(std::max(1, mark.line + 1), std::max(1, mark.column + 1), why);
  }

  void Open(YamlNode node) {
    stack_.emplace_back();
    stack_.back().node = std::move(node);
  }

  void Close() {
    if (stack_.empty()) return;  // unbalanced events cannot come from yaml-cpp's parser
    YamlNode done = std::move(stack_.back().node);
    stack_.pop_back();
    Add(std::move(done));
  }

  void Add(YamlNode n) {
    if (failed()) return;
    if (++nodes_ > max_nodes_) {
      Fail(n.line, n.column, StrCat("more than ", max_nodes_, " YAML nodes; split the file"));
      return;
    }
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& f = stack_.back();
    if (f.node.kind == YamlNode::Kind::kSequence) {
      f.node.children.push_back(std::move(n));
      return;
    }
    if (!f.have_key) {
      if (n.kind != YamlNode::Kind::kScalar) {
        Fail(n.line, n.column, "map keys must be plain strings");
        return;
      }
      if (!f.keys.insert(n.scalar).second) {
        Fail(n.line, n.column, StrCat("duplicate key ", QuoteForMessage(n.scalar)));
        return;
      }
      f.key = std::move(n);
      f.have_key = true;
      return;
    }
    n.key = std::move(f.key.scalar);
    n.key_line = f.key.line;
    n.key_column = f.key.column;
    f.have_key = false;
    f.node.children.push_back(std::move(n));
  }

  std::size_t max_nodes_;
  std::size_t nodes_ = 0;
  std::vector<Frame> stack_;
  YamlNode root_;
  YAML::Mark document_mark_;
  std::string error_;
};

absl::Status Invalid(std::string_view file_name, std::string_view where_and_why) {
  return absl::InvalidArgumentError(StrCat(file_name, ":", where_and_why));
}

}  // namespace

std::string_view YamlKindName(YamlNode::Kind kind) {
  switch (kind) {
    case YamlNode::Kind::kNull:
      return "null";
    case YamlNode::Kind::kScalar:
      return "a scalar";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMap:
      return "a map";
  }
  return "?";
}

absl::StatusOr<YamlNode> ParseYaml(std::string_view text, std::string_view file_name,
                                   const YamlLimits& limits) {
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    TreeBuilder builder(limits.max_nodes);
    if (!parser.HandleNextDocument(builder)) return YamlNode{};
    if (builder.failed()) return Invalid(file_name, builder.error());
    TreeBuilder next(1);
    if (parser.HandleNextDocument(next)) {
      const YAML::Mark& m = next.document_mark();
      return Invalid(file_name, StrCat(std::max(1, m.line + 1), ":", std::max(1, m.column + 1),
                                       ": a second YAML document starts here; give one per file"));
    }
    return builder.TakeRoot();
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    const int column = e.mark.is_null() ? 1 : e.mark.column + 1;
    return Invalid(file_name, StrCat(line, ":", column, ": invalid YAML: ", e.msg));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(StrCat(file_name, ": out of memory reading YAML"));
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat(file_name, ": reading YAML: ", e.what()));
  }
}

}  // namespace gpufleet::planner
