// VMs as the cluster and demand files write them, and the demand file itself.

#include "planner/vm_yaml.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "common/strings.h"
#include "planner/cluster_yaml.h"

namespace gpufleet::planner {
namespace yaml_internal {
namespace {

constexpr int kMaxFramebufferMib = 1 << 22;  // 4 TiB: far beyond any GPU
constexpr int kMaxCpus = 1'000'000;
constexpr int kMaxMemoryGib = 1 << 24;
constexpr std::size_t kMaxLabels = 64;

// A catalog lookup's error message, prefixed at the node.
template <typename T>
T FromLookup(YamlErrors& errors, const YamlNode& node, std::string_view path,
             absl::StatusOr<T> found) {
  if (found.ok()) return *found;
  errors.Fail(node, path, ToStd(found.status().message()));
  return T{};
}

Requirement DecodeRequirement(YamlMap& m, const core::Catalog& catalog) {
  Requirement need;
  need.min_framebuffer_mib = m.OptSizeMib("min_framebuffer", kMaxFramebufferMib).value_or(0);
  need.cuda = m.OptBool("cuda").value_or(false);
  if (const YamlNode* s = m.Get("series")) {
    std::optional<core::Series> series = ReadEnum<core::Series>(m.errors(), *s, m.PathOf("series"),
                                                                {{"Q", core::Series::kQ},
                                                                 {"C", core::Series::kC},
                                                                 {"B", core::Series::kB},
                                                                 {"A", core::Series::kA}});
    need.series = series;
  }
  if (const YamlNode* boards = m.List("boards")) {
    for (std::size_t i = 0; i < boards->children.size(); ++i) {
      const core::Board* b =
          ReadBoard(m.errors(), boards->children[i], IndexPath(m.PathOf("boards"), i), catalog);
      if (b != nullptr && std::find(need.boards.begin(), need.boards.end(), b) == need.boards.end())
        need.boards.push_back(b);
    }
  }
  need.mig = m.OptBool("mig").value_or(false);
  need.passthrough = m.OptBool("passthrough").value_or(false);
  if (need.mig && need.passthrough) {
    m.Fail("passthrough",
           "a passthrough GPU is never MIG-backed; set mig or passthrough, not both");
  }
  m.Finish();
  return need;
}

}  // namespace

std::optional<std::string> ReadName(YamlErrors& errors, const YamlNode& node,
                                    std::string_view path) {
  std::optional<std::string> name = ReadString(errors, node, path);
  if (!name) return std::nullopt;
  const bool control = std::any_of(name->begin(), name->end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (name->empty() || name->size() > kMaxNameLength || control) {
    errors.Fail(node, path,
                StrCat("expected a name of 1 to ", kMaxNameLength,
                       " characters without control characters, got ", QuoteForMessage(*name)));
    return std::nullopt;
  }
  return name;
}

const core::Board* ReadBoard(YamlErrors& errors, const YamlNode& node, std::string_view path,
                             const core::Catalog& catalog) {
  std::optional<std::string> text = ReadString(errors, node, path);
  if (!text) return nullptr;
  return FromLookup(errors, node, path, catalog.ResolveBoard(*text));
}

const core::VgpuType* ReadType(YamlErrors& errors, const YamlNode& node, std::string_view path,
                               const core::Catalog& catalog, const core::Board* board) {
  std::optional<std::string> text = ReadString(errors, node, path);
  if (!text) return nullptr;
  return FromLookup(errors, node, path, catalog.ResolveType(*text, board));
}

std::optional<std::string> ReadEdition(YamlErrors& errors, const YamlNode& node,
                                       std::string_view path, const core::Catalog& catalog) {
  std::optional<std::string> id = ReadString(errors, node, path);
  if (!id) return std::nullopt;
  if (const core::Edition* e = catalog.FindEdition(*id)) return e->id;
  std::vector<std::string> ids;
  for (const core::Edition& e : catalog.editions()) ids.push_back(e.id);
  std::string why = StrCat("unknown license edition ", QuoteForMessage(*id));
  if (auto near = ClosestMatch(*id, ids)) StrAppend(&why, "; did you mean ", *near, "?");
  StrAppend(&why, " (editions: ", StrJoin(ids, ", "), ")");
  errors.Fail(node, path, why);
  return std::nullopt;
}

std::optional<core::DriverVersion> ReadDriver(YamlErrors& errors, const YamlNode& node,
                                              std::string_view path) {
  std::optional<std::string> text = ReadString(errors, node, path);
  if (!text) return std::nullopt;
  absl::StatusOr<core::DriverVersion> v = core::DriverVersion::Parse(*text);
  if (!v.ok()) {
    errors.Fail(node, path, ToStd(v.status().message()));
    return std::nullopt;
  }
  return *std::move(v);
}

std::optional<int> ReadEnumIndex(YamlErrors& errors, const YamlNode& node, std::string_view path,
                                 const std::vector<std::string_view>& words) {
  std::optional<std::string> text = ReadString(errors, node, path);
  if (!text) return std::nullopt;
  std::vector<std::string> all;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (EqualsIgnoreCase(*text, words[i])) return static_cast<int>(i);
    all.emplace_back(words[i]);
  }
  std::string why = StrCat(QuoteForMessage(*text), " is not one of ", StrJoin(all, ", "));
  if (auto near = ClosestMatch(*text, all)) StrAppend(&why, "; did you mean ", *near, "?");
  errors.Fail(node, path, why);
  return std::nullopt;
}

Vm DecodeVm(YamlMap& m, const core::Catalog& catalog) {
  YamlErrors& errors = m.errors();
  Vm vm;
  if (const YamlNode* name = m.Require("name")) {
    vm.name = ReadName(errors, *name, m.PathOf("name")).value_or("");
  }
  const YamlNode* type = m.Get("type");
  const YamlNode* requirement = m.Get("requirement");
  if (type != nullptr && requirement != nullptr) {
    m.Fail("requirement", "give either type or requirement, not both");
  } else if (type != nullptr) {
    vm.need.type = ReadType(errors, *type, m.PathOf("type"), catalog);
  } else if (requirement != nullptr) {
    YamlMap r(errors, *requirement, m.PathOf("requirement"));
    vm.need = DecodeRequirement(r, catalog);
  } else if (errors.ok()) {
    errors.Fail(m.node(), m.path(),
                "a VM needs a type (P40-8Q) or a requirement ({min_framebuffer: 8G, cuda: true})");
  }
  vm.vgpus = m.OptInt("vgpus", 1, kMaxGpusPerHost).value_or(1);
  if (const YamlNode* group = m.Get("anti_affinity")) {
    vm.anti_affinity = ReadName(errors, *group, m.PathOf("anti_affinity")).value_or("");
  }
  if (const YamlNode* driver = m.Get("guest_driver")) {
    vm.guest_driver = ReadDriver(errors, *driver, m.PathOf("guest_driver"));
  }
  if (const YamlNode* license = m.Get("license")) {
    vm.license = ReadEdition(errors, *license, m.PathOf("license"), catalog).value_or("");
  }
  vm.live_migratable = m.OptBool("live_migratable").value_or(true);
  vm.cpus = m.OptInt("cpus", 0, kMaxCpus).value_or(0);
  vm.memory_gib = m.OptInt("memory_gib", 0, kMaxMemoryGib).value_or(0);
  if (const YamlNode* labels = m.Get("host_labels")) {
    vm.host_labels = ReadStringMap(errors, *labels, m.PathOf("host_labels"), kMaxLabels);
  }
  return vm;
}

}  // namespace yaml_internal

namespace {

// "light-{n}" -> "light-3"; a name without {n} gets "-3" appended.
std::string ExpandName(const std::string& name, int k) {
  const std::string number = std::to_string(k);
  if (name.find("{n}") == std::string::npos) return StrCat(name, "-", number);
  std::string out;
  for (std::size_t at = 0;;) {
    const std::size_t p = name.find("{n}", at);
    out.append(name, at, p == std::string::npos ? std::string::npos : p - at);
    if (p == std::string::npos) return out;
    out += number;
    at = p + 3;
  }
}

}  // namespace

absl::StatusOr<std::vector<int>> AppendDemandYaml(std::string_view text, std::string_view file_name,
                                                  const core::Catalog& catalog, Cluster& cluster) {
  absl::StatusOr<YamlNode> root = ParseYaml(text, file_name);
  if (!root.ok()) return root.status();
  return AppendDemandNode(*root, file_name, catalog, cluster);
}

absl::StatusOr<std::vector<int>> AppendDemandNode(const YamlNode& root, std::string_view file_name,
                                                  const core::Catalog& catalog, Cluster& cluster) {
  YamlErrors errors{std::string(file_name)};
  YamlMap top(errors, root, "");
  const YamlNode* list = top.List("vms", /*required=*/true);
  top.Finish();
  if (!errors.ok()) return errors.status();

  // Decode and count everything before expanding anything, so that a huge count fails fast.
  struct Entry {
    YamlMap map;
    Vm vm;
    std::optional<int> count;
  };
  std::vector<Entry> entries;
  std::size_t total = cluster.vms.size();
  for (std::size_t i = 0; i < list->children.size() && errors.ok(); ++i) {
    YamlMap m(errors, list->children[i], IndexPath("vms", i));
    std::optional<int> count = m.OptInt("count", 1, kMaxDemandCount);
    Vm vm = yaml_internal::DecodeVm(m, catalog);
    m.Finish();
    if (!errors.ok()) break;
    total += count ? static_cast<std::size_t>(*count) : 1;
    if (total > static_cast<std::size_t>(kMaxVms)) {
      m.Fail(count ? "count" : "name",
             StrCat("cluster and demand hold more than ", kMaxVms, " VMs; split the demand"));
    } else if (!count && vm.name.find("{n}") != std::string::npos) {
      m.Fail("name", "the name holds {n} but the VM has no count");
    }
    entries.push_back(Entry{std::move(m), std::move(vm), count});
  }
  if (!errors.ok()) return errors.status();

  // Where each name is defined, for duplicate messages.
  std::unordered_map<std::string, std::string> defined;
  for (const Vm& vm : cluster.vms) defined.emplace(vm.name, "the cluster");
  std::vector<Vm> demand;
  demand.reserve(total - cluster.vms.size());
  for (Entry& e : entries) {
    const int n = e.count.value_or(1);
    for (int k = 1; k <= n && errors.ok(); ++k) {
      Vm copy = e.vm;
      if (e.count) copy.name = ExpandName(e.vm.name, k);
      if (copy.name.size() > static_cast<std::size_t>(yaml_internal::kMaxNameLength)) {
        e.map.Fail("name", StrCat("VM name ", QuoteForMessage(copy.name), " is longer than ",
                                  yaml_internal::kMaxNameLength, " characters"));
      } else if (auto [it, fresh] = defined.emplace(copy.name, e.map.path()); !fresh) {
        e.map.Fail("name", StrCat("duplicate VM name ", QuoteForMessage(copy.name), " (also in ",
                                  it->second, ")"));
      } else {
        demand.push_back(std::move(copy));
      }
    }
  }
  if (!errors.ok()) return errors.status();

  std::vector<int> indexes;
  indexes.reserve(demand.size());
  for (Vm& vm : demand) {
    indexes.push_back(static_cast<int>(cluster.vms.size()));
    cluster.vms.push_back(std::move(vm));
  }
  return indexes;
}

}  // namespace gpufleet::planner
