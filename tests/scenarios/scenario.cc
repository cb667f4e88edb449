// Strict decoding of a scenario file with the planner's YAML reader: each operation reads only its
// own keys, so YamlMap::Finish() reports a key of another operation as unknown.

#include "scenario.h"

#include "common/strings.h"
#include "planner/vm_yaml.h"
#include "planner/yaml_reader.h"

namespace gpufleet::planner::scenario {
namespace {

using yaml_internal::ReadEnum;

constexpr int kMaxCount = 1'000'000;
constexpr std::size_t kMaxEntries = 10'000;

// A string, or a list of strings: the pieces a reason or error must contain.
std::vector<std::string> ReadPieces(YamlErrors& errors, const YamlNode& node,
                                    std::string_view path) {
  std::vector<std::string> out;
  if (node.kind == YamlNode::Kind::kSequence) {
    for (std::size_t i = 0; i < node.children.size(); ++i) {
      if (auto s = ReadString(errors, node.children[i], IndexPath(path, i))) out.push_back(*s);
    }
  } else if (auto s = ReadString(errors, node, path)) {
    out.push_back(*s);
  }
  if (errors.ok() && out.empty()) errors.Fail(node, path, "expected at least one string");
  return out;
}

std::vector<std::string> OptPieces(YamlMap& m, std::string_view key) {
  const YamlNode* v = m.Get(key);
  return v ? ReadPieces(m.errors(), *v, m.PathOf(key)) : std::vector<std::string>{};
}

std::map<std::string, int> ReadIntMap(YamlErrors& errors, const YamlNode& node,
                                      std::string_view path) {
  std::map<std::string, int> out;
  YamlMap m(errors, node, std::string(path));
  if (node.kind != YamlNode::Kind::kMap) return out;
  for (const YamlNode& v : node.children) {
    if (auto n = m.OptInt(v.key, 0, kMaxCount)) out[v.key] = *n;
  }
  return out;
}

std::optional<std::map<std::string, int>> OptIntMap(YamlMap& m, std::string_view key) {
  const YamlNode* v = m.Get(key);
  if (v == nullptr) return std::nullopt;
  return ReadIntMap(m.errors(), *v, m.PathOf(key));
}

std::map<std::string, std::string> OptStringMap(YamlMap& m, std::string_view key) {
  const YamlNode* v = m.Get(key);
  return v ? ReadStringMap(m.errors(), *v, m.PathOf(key), kMaxEntries)
           : std::map<std::string, std::string>{};
}

std::vector<std::string> ReadStringList(YamlErrors& errors, const YamlNode& node,
                                        std::string_view path) {
  std::vector<std::string> out;
  if (node.kind != YamlNode::Kind::kSequence) {
    errors.Fail(node, path, "expected a list of names");
    return out;
  }
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    if (auto s = ReadString(errors, node.children[i], IndexPath(path, i))) out.push_back(*s);
  }
  return out;
}

// [{vm: a, reason_contains: "..."}, ...]
std::vector<ExpectedReason> OptReasons(YamlMap& m, std::string_view key) {
  std::vector<ExpectedReason> out;
  const YamlNode* list = m.List(key);
  if (list == nullptr) return out;
  for (std::size_t i = 0; i < list->children.size(); ++i) {
    YamlMap r(m.errors(), list->children[i], IndexPath(m.PathOf(key), i));
    ExpectedReason e;
    e.vm = r.Require("vm") ? r.OptString("vm").value_or("") : "";
    if (const YamlNode* c = r.Require("reason_contains")) {
      e.contains = ReadPieces(m.errors(), *c, r.PathOf("reason_contains"));
    }
    r.Finish();
    out.push_back(std::move(e));
  }
  return out;
}

void DecodePlaceExpect(YamlMap& e, Expectations& x) {
  x.host = e.OptString("host");
  if (const YamlNode* g = e.Get("gpus")) x.gpus = ReadStringList(e.errors(), *g, e.PathOf("gpus"));
  x.type = e.OptString("type");
  x.mode = e.OptString("mode");
  x.placement = e.OptInt("placement", 0, kMaxCount);
  if (const YamlNode* r = e.Get("rejected")) {
    YamlMap m(e.errors(), *r, e.PathOf("rejected"));
    if (const YamlNode* c = m.Require("reason_contains")) {
      x.rejected_reason = ReadPieces(e.errors(), *c, m.PathOf("reason_contains"));
    }
    m.Finish();
  }
  const bool placed = x.host || x.gpus || x.type || x.mode || x.placement;
  if (e.errors().ok() && placed == !x.rejected_reason.empty()) {
    e.Fail("host",
           "a place expectation names either where the VM goes (host, gpus, type, mode, "
           "placement) or rejected, not both or neither");
  }
}

void DecodePlanExpect(YamlMap& e, Expectations& x) {
  if (e.Require("placed")) x.placed = e.OptInt("placed", 0, kMaxCount);
  x.rejected = OptReasons(e, "rejected");
  x.gpus_used = e.OptInt("gpus_used", 0, kMaxCount);
  x.hosts_used = e.OptInt("hosts_used", 0, kMaxCount);
  x.bound = OptIntMap(e, "bound");
  x.gap = e.OptInt("gap", -kMaxCount, kMaxCount);
  x.free_by_type = OptIntMap(e, "free_by_type");
  x.stranded_mib = e.OptInt("stranded_mib", 0, 1 << 30);
  x.on_host = OptStringMap(e, "on_host");
  x.on_gpu = OptStringMap(e, "on_gpu");
  x.type_of = OptStringMap(e, "type_of");
  if (auto p = OptIntMap(e, "placements")) x.placements = *p;
}

void DecodeEvacuateExpect(YamlMap& e, Expectations& x) {
  if (e.Require("moves")) x.moves = e.OptInt("moves", 0, kMaxCount);
  x.stuck = OptReasons(e, "stuck");
  x.to = OptStringMap(e, "to");
}

void DecodeHaExpect(YamlMap& e, Expectations& x) {
  if (e.Require("n_plus_one")) x.n_plus_one = e.OptBool("n_plus_one");
  if (const YamlNode* m = e.Get("missing")) {
    YamlMap hosts(e.errors(), *m, e.PathOf("missing"));  // records an error unless a map
    if (m->kind == YamlNode::Kind::kMap) {
      for (const YamlNode& h : m->children) {
        x.missing[h.key] = ReadIntMap(e.errors(), h, hosts.PathOf(h.key));
      }
    }
  }
  if (auto r = OptIntMap(e, "reserve")) x.reserve = *r;
  if (e.Get("cannot_restart")) x.cannot_restart = OptReasons(e, "cannot_restart");
  if (const YamlNode* r = e.Get("reserve_hosts")) {
    YamlMap types(e.errors(), *r, e.PathOf("reserve_hosts"));  // records an error unless a map
    if (r->kind == YamlNode::Kind::kMap) {
      for (const YamlNode& t : r->children) {
        x.reserve_hosts[t.key] = ReadStringList(e.errors(), t, types.PathOf(t.key));
      }
    }
  }
}

void DecodeDefragExpect(YamlMap& e, Expectations& x) {
  if (e.Require("satisfied")) x.satisfied = e.OptBool("satisfied");
  x.moves = e.OptInt("moves", 0, kMaxCount);
  x.recarves = e.OptInt("recarves", 0, kMaxCount);
  x.free_before = e.OptInt("free_before", 0, kMaxCount);
  x.free_after = e.OptInt("free_after", 0, kMaxCount);
  x.minimal = e.OptBool("minimal");
  x.moves_lower_bound = e.OptInt("moves_lower_bound", -1, kMaxCount);
  x.explanation_contains = OptPieces(e, "explanation_contains");
  x.to = OptStringMap(e, "to");
}

void DecodeExpect(YamlMap& e, Operation op, Expectations& x) {
  x.error_contains = OptPieces(e, "error_contains");
  if (!x.error_contains.empty()) {
    e.Finish();  // an expected error is the whole expectation
    return;
  }
  switch (op) {
    case Operation::kPlace:
      DecodePlaceExpect(e, x);
      break;
    case Operation::kPlan:
      DecodePlanExpect(e, x);
      break;
    case Operation::kEvacuate:
      DecodeEvacuateExpect(e, x);
      break;
    case Operation::kHa:
      DecodeHaExpect(e, x);
      break;
    case Operation::kDefrag:
      DecodeDefragExpect(e, x);
      break;
  }
  e.Finish();
}

}  // namespace

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kPlace:
      return "place";
    case Operation::kPlan:
      return "plan";
    case Operation::kEvacuate:
      return "evacuate";
    case Operation::kHa:
      return "ha";
    case Operation::kDefrag:
      return "defrag";
  }
  return "?";
}

absl::StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view file_name,
                                       const core::Catalog& catalog) {
  absl::StatusOr<YamlNode> root = ParseYaml(text, file_name);
  if (!root.ok()) return root.status();
  YamlErrors errors{std::string(file_name)};
  YamlMap top(errors, *root, "");
  Scenario s;
  s.file_name = std::string(file_name);
  if (top.Require("description")) s.description = top.OptString("description").value_or("");
  s.known_bug = top.OptString("known_bug").value_or("");
  if (const YamlNode* op = top.Require("operation")) {
    s.operation = ReadEnum<Operation>(errors, *op, top.PathOf("operation"),
                                      {{"place", Operation::kPlace},
                                       {"plan", Operation::kPlan},
                                       {"evacuate", Operation::kEvacuate},
                                       {"ha", Operation::kHa},
                                       {"defrag", Operation::kDefrag}})
                      .value_or(Operation::kPlace);
  }
  if (const YamlNode* c = top.Require("cluster")) s.cluster = *c;
  if (const YamlNode* p = top.Get("policy")) {
    s.place.policy = ReadEnum<Policy>(errors, *p, top.PathOf("policy"),
                                      {{"fragmentation", Policy::kFragmentationAware},
                                       {"spread", Policy::kSpread},
                                       {"consolidate", Policy::kConsolidate}})
                         .value_or(Policy::kFragmentationAware);
  }
  s.place.capacity.allow_recarve = top.OptBool("allow_recarve").value_or(true);
  if (!errors.ok()) return errors.status();

  switch (s.operation) {
    case Operation::kPlace:
      if (top.Require("vm")) s.vm = top.OptString("vm").value_or("");
      break;
    case Operation::kPlan:
      if (const YamlNode* d = top.Get("demand")) s.demand = *d;
      s.from_scratch = top.OptBool("from_scratch").value_or(false);
      break;
    case Operation::kEvacuate:
      if (top.Require("host")) s.host = top.OptString("host").value_or("");
      if (auto b = top.OptInt("stun_budget", 0, 1'000'000)) s.stun_budget_seconds = *b;
      break;
    case Operation::kHa:
      break;
    case Operation::kDefrag:
      if (const YamlNode* t = top.Require("target")) {
        s.target = yaml_internal::ReadType(errors, *t, top.PathOf("target"), catalog);
      }
      s.count = top.OptInt("count", 1, kMaxCount).value_or(1);
      if (auto b = top.OptInt("stun_budget", 0, 1'000'000)) s.stun_budget_seconds = *b;
      break;
  }
  if (const YamlNode* e = top.Require("expect")) {
    YamlMap expect(errors, *e, "expect");
    DecodeExpect(expect, s.operation, s.expect);
  }
  top.Finish();
  if (!errors.ok()) return errors.status();
  return s;
}

}  // namespace gpufleet::planner::scenario
