// The cluster file: hosts, GPUs and the instances on them, VMs, license seats, mixed-size
// geometry. VMs are decoded first because instances name them; every check that can point at a
// line is done here, and the capacity rules that need the planner's geometry are left to
// Violations().

#include "planner/cluster_yaml.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "common/strings.h"
#include "planner/vm_yaml.h"
#include "planner/yaml_reader.h"

namespace gpufleet::planner {
namespace {

using yaml_internal::ReadBoard;
using yaml_internal::ReadDriver;
using yaml_internal::ReadEdition;
using yaml_internal::ReadEnum;
using yaml_internal::ReadName;
using yaml_internal::ReadType;

constexpr int kMaxSeats = 10'000'000;
constexpr int kMaxCapacity = 1 << 24;
constexpr int kMaxLinkGbps = 100'000;
constexpr int kMaxPlacement = 4096;
constexpr int kMaxSlotMib = 1 << 20;
constexpr std::size_t kMaxInstancesPerGpu = 256;
constexpr std::size_t kMaxLabels = 64;

// A map key as a scalar node at the key's position, so lookups on keys report where they are.
YamlNode KeyNode(const YamlNode& value) {
  YamlNode key;
  key.kind = YamlNode::Kind::kScalar;
  key.scalar = value.key;
  key.line = value.key_line;
  key.column = value.key_column;
  return key;
}

// One instance as written, before the GPU's mode is known.
struct PendingInstance {
  const YamlNode* node = nullptr;  // the instance's map
  std::string path;
  int vm = -1;
  const core::VgpuType* type = nullptr;
  const YamlNode* type_node = nullptr;  // nullptr when the type was implied
  std::optional<int> placement;
};

class ClusterDecoder {
 public:
  ClusterDecoder(YamlErrors& errors, const core::Catalog& catalog)
      : errors_(errors), catalog_(catalog) {}

  void DecodeVms(const YamlNode& list);
  void DecodeLicenses(const YamlNode& node);
  void DecodeMixedSize(const YamlNode& node);
  void DecodeHosts(const YamlNode& list);
  // Every VM is placed for all its vGPUs or not at all.
  void CheckPlacementsComplete();
  Cluster TakeCluster() { return std::move(cluster_); }

 private:
  void DecodeHost(const YamlNode& node, const std::string& path, int host_index);
  void DecodeGpu(YamlMap& g, std::size_t index, int host, Gpu& gpu);
  void CheckMixedSize(YamlMap& g, const Gpu& gpu, const Host& host);
  std::optional<GpuMode> ModeOf(YamlMap& g, std::optional<GpuMode> written, const Gpu& gpu,
                                const core::VgpuType* carved, bool passthrough,
                                const std::vector<PendingInstance>& instances);
  void CheckInstances(YamlMap& g, int host, GpuMode mode, const core::VgpuType* carved,
                      const std::vector<PendingInstance>& instances, Gpu& gpu);
  std::optional<PendingInstance> DecodeInstance(const YamlNode& node, std::string path,
                                                const core::Board& board,
                                                const core::VgpuType* carved);
  int ReadVmRef(const YamlNode& node, std::string_view path);
  void Place(int vm, int host, const YamlNode& at, std::string_view path);
  std::string_view VmName(int vm) const { return cluster_.vms[static_cast<std::size_t>(vm)].name; }

  YamlErrors& errors_;
  const core::Catalog& catalog_;
  Cluster cluster_;
  std::unordered_map<std::string, int> vm_index_;
  std::vector<const YamlNode*> vm_nodes_;
  std::vector<int> vm_host_;    // per VM: the host its vGPUs are on so far, or -1
  std::vector<int> vm_placed_;  // per VM: instances and passthrough GPUs so far
};

void ClusterDecoder::DecodeVms(const YamlNode& list) {
  if (list.children.size() > static_cast<std::size_t>(kMaxVms)) {
    errors_.Fail(list, "vms", StrCat("more than ", kMaxVms, " VMs"));
    return;
  }
  for (std::size_t i = 0; i < list.children.size() && errors_.ok(); ++i) {
    const std::string path = IndexPath("vms", i);
    YamlMap m(errors_, list.children[i], path);
    Vm vm = yaml_internal::DecodeVm(m, catalog_);
    m.Finish();
    const int index = static_cast<int>(cluster_.vms.size());
    if (auto [it, fresh] = vm_index_.emplace(vm.name, index); !fresh && errors_.ok()) {
      m.Fail("name", StrCat("duplicate VM name ", QuoteForMessage(vm.name), " (also vms[",
                            it->second, "])"));
    }
    cluster_.vms.push_back(std::move(vm));
    vm_nodes_.push_back(&list.children[i]);
  }
  vm_host_.assign(cluster_.vms.size(), -1);
  vm_placed_.assign(cluster_.vms.size(), 0);
}

void ClusterDecoder::DecodeLicenses(const YamlNode& node) {
  YamlMap m(errors_, node, "licenses");
  if (node.kind != YamlNode::Kind::kMap) return;
  for (const YamlNode& seats : node.children) {
    const std::string path = m.PathOf(seats.key);
    std::optional<std::string> edition = ReadEdition(errors_, KeyNode(seats), path, catalog_);
    std::optional<int> n = ReadInt(errors_, seats, path, 0, kMaxSeats);
    if (!edition || !n) return;
    if (!cluster_.license_seats.emplace(*edition, *n).second) {
      errors_.Fail(seats.key_line, seats.key_column, path,
                   StrCat("edition ", *edition, " is listed twice"));
    }
  }
}

void ClusterDecoder::DecodeMixedSize(const YamlNode& node) {
  YamlMap m(errors_, node, "mixed_size");
  if (node.kind != YamlNode::Kind::kMap) return;
  for (const YamlNode& entry : node.children) {
    const std::string path = m.PathOf(entry.key);
    const core::Board* board = ReadBoard(errors_, KeyNode(entry), path, catalog_);
    YamlMap g(errors_, entry, path);
    MixedSizeGeometry geometry;
    geometry.slot_mib = g.OptSizeMib("slot_mib", kMaxSlotMib).value_or(geometry.slot_mib);
    geometry.slots = g.OptInt("slots", 0, kMaxPlacement).value_or(0);
    geometry.reserved_slots = g.OptInt("reserved_slots", 0, kMaxPlacement).value_or(0);
    g.Finish();
    if (board == nullptr || !errors_.ok()) return;
    if (geometry.slot_mib == 0) g.Fail("slot_mib", "a slot holds at least 1 MiB");
    const int slots =
        geometry.slots > 0 ? geometry.slots : board->framebuffer_mib / geometry.slot_mib;
    if (geometry.reserved_slots >= slots) {
      g.Fail("reserved_slots", StrCat("reserves ", geometry.reserved_slots, " of ", slots,
                                      " slots; nothing would be left"));
    }
    if (board->mixed_size == false) {
      errors_.Fail(entry.key_line, entry.key_column, path,
                   StrCat(board->prefix, " does not support mixed-size vGPU"));
    }
    if (!cluster_.mixed_size.emplace(board->prefix, geometry).second) {
      errors_.Fail(entry.key_line, entry.key_column, path,
                   StrCat("board ", board->prefix, " is listed twice"));
    }
  }
}

void ClusterDecoder::DecodeHosts(const YamlNode& list) {
  if (list.children.size() > static_cast<std::size_t>(kMaxHosts)) {
    errors_.Fail(list, "hosts", StrCat("more than ", kMaxHosts, " hosts"));
    return;
  }
  std::unordered_map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < list.children.size() && errors_.ok(); ++i) {
    const std::string path = IndexPath("hosts", i);
    DecodeHost(list.children[i], path, static_cast<int>(i));
    if (!errors_.ok()) return;
    if (auto [it, fresh] = names.emplace(cluster_.hosts.back().name, i); !fresh) {
      YamlMap h(errors_, list.children[i], path);
      h.Fail("name", StrCat("duplicate host name ", QuoteForMessage(it->first), " (also hosts[",
                            it->second, "])"));
    }
  }
}

void ClusterDecoder::DecodeHost(const YamlNode& node, const std::string& path, int host_index) {
  YamlMap h(errors_, node, path);
  Host host;
  if (const YamlNode* name = h.Require("name")) {
    host.name = ReadName(errors_, *name, h.PathOf("name")).value_or("");
  }
  if (const YamlNode* state = h.Get("state")) {
    host.state = ReadEnum<HostState>(errors_, *state, h.PathOf("state"),
                                     {{"ready", HostState::kReady},
                                      {"maintenance", HostState::kMaintenance},
                                      {"down", HostState::kDown}})
                     .value_or(HostState::kReady);
  }
  if (const YamlNode* hv = h.Get("hypervisor")) {
    host.hypervisor = ReadEnum<core::Hypervisor>(errors_, *hv, h.PathOf("hypervisor"),
                                                 {{"kvm", core::Hypervisor::kKvm},
                                                  {"vsphere", core::Hypervisor::kVsphere}})
                          .value_or(core::Hypervisor::kKvm);
  }
  if (const YamlNode* manager = h.Get("vgpu_manager")) {
    host.manager = ReadDriver(errors_, *manager, h.PathOf("vgpu_manager"));
  }
  host.hotmigrate = h.OptBool("hotmigrate").value_or(true);
  if (const YamlNode* labels = h.Get("labels")) {
    host.labels = ReadStringMap(errors_, *labels, h.PathOf("labels"), kMaxLabels);
  }
  host.cpus = h.OptInt("cpus", 0, kMaxCapacity);
  host.memory_gib = h.OptInt("memory_gib", 0, kMaxCapacity);
  host.link_gbps = h.OptInt("link_gbps", 1, kMaxLinkGbps);
  if (const YamlNode* gpus = h.List("gpus")) {
    if (gpus->children.size() > static_cast<std::size_t>(kMaxGpusPerHost)) {
      errors_.Fail(*gpus, h.PathOf("gpus"), StrCat("more than ", kMaxGpusPerHost, " GPUs"));
    }
    std::unordered_map<std::string, std::size_t> ids;
    for (std::size_t i = 0; i < gpus->children.size() && errors_.ok(); ++i) {
      YamlMap g(errors_, gpus->children[i], IndexPath(h.PathOf("gpus"), i));
      Gpu gpu;
      DecodeGpu(g, i, host_index, gpu);
      if (errors_.ok() && gpu.mode == GpuMode::kMixedSize) CheckMixedSize(g, gpu, host);
      if (auto [it, fresh] = ids.emplace(gpu.id, i); !fresh && errors_.ok()) {
        g.Fail("id", StrCat("duplicate GPU id ", QuoteForMessage(gpu.id), " on host ",
                            QuoteForMessage(host.name), " (also gpus[", it->second, "])"));
      }
      host.gpus.push_back(std::move(gpu));
    }
  }
  h.Finish();
  cluster_.hosts.push_back(std::move(host));
}

// Mixed-size vGPU came with vGPU 17 (R550): a board whose support ended earlier, or a host whose
// manager is older, cannot be in that mode.
void ClusterDecoder::CheckMixedSize(YamlMap& g, const Gpu& gpu, const Host& host) {
  constexpr int kFirstMixedSizeBranch = 17;
  if (gpu.board->support.last_branch && *gpu.board->support.last_branch < kFirstMixedSizeBranch) {
    g.Fail("mode", StrCat(gpu.board->prefix, " cannot run mixed-size vGPU: it needs vGPU ",
                          kFirstMixedSizeBranch, " or later, and ", gpu.board->prefix,
                          " support ended with ", *gpu.board->support.last_branch, ".x"));
    return;
  }
  if (!host.manager) return;
  const core::DriverMatch m = catalog_.FindByHostDriver(*host.manager);
  if (m.branch != nullptr && m.branch->branch < kFirstMixedSizeBranch) {
    g.Fail("mode", StrCat("mixed-size vGPU needs a vGPU ", kFirstMixedSizeBranch,
                          " (R550) or later manager; host ", QuoteForMessage(host.name), " runs ",
                          host.manager->ToString(), " (", m.branch->branch, ".x)"));
  }
}

void ClusterDecoder::DecodeGpu(YamlMap& g, std::size_t index, int host, Gpu& gpu) {
  gpu.id = StrCat("gpu", index);
  if (const YamlNode* id = g.Get("id"))
    gpu.id = ReadName(errors_, *id, g.PathOf("id")).value_or("");
  if (const YamlNode* board = g.Require("board")) {
    gpu.board = ReadBoard(errors_, *board, g.PathOf("board"), catalog_);
  }
  gpu.ecc = g.OptBool("ecc").value_or(false);
  std::optional<GpuMode> written;
  if (const YamlNode* mode = g.Get("mode")) {
    written = ReadEnum<GpuMode>(errors_, *mode, g.PathOf("mode"),
                                {{"unconfigured", GpuMode::kUnconfigured},
                                 {"equal-size", GpuMode::kEqualSize},
                                 {"mixed-size", GpuMode::kMixedSize},
                                 {"mig", GpuMode::kMig},
                                 {"passthrough", GpuMode::kPassthrough}});
  }
  const core::VgpuType* carved = nullptr;
  if (const YamlNode* c = g.Get("carved"); c != nullptr && gpu.board != nullptr) {
    carved = ReadType(errors_, *c, g.PathOf("carved"), catalog_, gpu.board);
  }
  const YamlNode* passthrough = g.Get("passthrough_vm");
  if (passthrough != nullptr)
    gpu.passthrough_vm = ReadVmRef(*passthrough, g.PathOf("passthrough_vm"));
  std::vector<PendingInstance> instances;
  if (const YamlNode* list = g.List("instances"); list != nullptr && gpu.board != nullptr) {
    if (list->children.size() > kMaxInstancesPerGpu) {
      errors_.Fail(*list, g.PathOf("instances"),
                   StrCat("more than ", kMaxInstancesPerGpu, " instances"));
    }
    for (std::size_t i = 0; i < list->children.size() && errors_.ok(); ++i) {
      std::optional<PendingInstance> p = DecodeInstance(
          list->children[i], IndexPath(g.PathOf("instances"), i), *gpu.board, carved);
      if (p) instances.push_back(std::move(*p));
    }
  }
  g.Finish();
  if (!errors_.ok()) return;

  std::optional<GpuMode> mode = ModeOf(g, written, gpu, carved, passthrough != nullptr, instances);
  if (!mode) return;
  gpu.mode = *mode;
  CheckInstances(g, host, gpu.mode, carved, instances, gpu);
  if (gpu.passthrough_vm >= 0 && errors_.ok()) {
    const Vm& vm = cluster_.vms[static_cast<std::size_t>(gpu.passthrough_vm)];
    if (!vm.need.passthrough) {
      g.Fail("passthrough_vm", StrCat("VM ", QuoteForMessage(vm.name),
                                      " does not ask for a passthrough GPU (give it requirement: "
                                      "{passthrough: true})"));
    }
    Place(gpu.passthrough_vm, host, *passthrough, g.PathOf("passthrough_vm"));
  }
}

std::optional<PendingInstance> ClusterDecoder::DecodeInstance(const YamlNode& node,
                                                              std::string path,
                                                              const core::Board& board,
                                                              const core::VgpuType* carved) {
  YamlMap m(errors_, node, path);
  PendingInstance p;
  p.node = &node;
  if (const YamlNode* vm = m.Require("vm")) p.vm = ReadVmRef(*vm, m.PathOf("vm"));
  p.type_node = m.Get("type");
  if (p.type_node != nullptr) {
    p.type = ReadType(errors_, *p.type_node, m.PathOf("type"), catalog_, &board);
  }
  p.placement = m.OptInt("placement", 0, kMaxPlacement - 1);
  m.Finish();
  if (!errors_.ok()) return std::nullopt;
  const Vm& vm = cluster_.vms[static_cast<std::size_t>(p.vm)];
  if (p.type == nullptr) p.type = carved != nullptr ? carved : vm.need.type;
  if (p.type == nullptr) {
    errors_.Fail(node, path,
                 StrCat("type is required: the GPU is not carved and VM ", QuoteForMessage(vm.name),
                        " has a requirement rather than a type"));
    return std::nullopt;
  }
  if (p.type->board_prefix != board.prefix) {
    errors_.Fail(node, path,
                 StrCat("VM ", QuoteForMessage(vm.name), " has type ", p.type->name,
                        ", which belongs to board ", p.type->board_prefix, ", not ", board.prefix));
    return std::nullopt;
  }
  p.path = std::move(path);
  return p;
}

std::optional<GpuMode> ClusterDecoder::ModeOf(YamlMap& g, std::optional<GpuMode> written,
                                              const Gpu& gpu, const core::VgpuType* carved,
                                              bool passthrough,
                                              const std::vector<PendingInstance>& instances) {
  GpuMode mode = written.value_or(GpuMode::kUnconfigured);
  if (mode == GpuMode::kUnconfigured) {
    // An unconfigured GPU with instances or a carving is carved for them: equal-size (or MIG
    // when the instances are MIG-backed); a passthrough VM alone implies passthrough.
    if (!instances.empty()) {
      mode = instances.front().type->mig_backed ? GpuMode::kMig : GpuMode::kEqualSize;
    } else if (carved != nullptr) {
      mode = GpuMode::kEqualSize;
    } else if (passthrough && !written) {
      mode = GpuMode::kPassthrough;
    }
  }
  if (passthrough && mode != GpuMode::kPassthrough) {
    g.Fail("passthrough_vm",
           StrCat("only a GPU in mode passthrough has a passthrough_vm; this one is ",
                  GpuModeName(mode)));
  } else if (carved != nullptr && mode != GpuMode::kEqualSize) {
    g.Fail("carved", StrCat("only an equal-size GPU is carved for one type; this one is ",
                            GpuModeName(mode)));
  } else if (mode == GpuMode::kPassthrough && !instances.empty()) {
    g.Fail("instances", "a passthrough GPU has no vGPU instances");
  } else if (mode == GpuMode::kMixedSize && gpu.board->mixed_size == false) {
    g.Fail("mode", StrCat(gpu.board->prefix, " does not support mixed-size vGPU"));
  } else if (mode == GpuMode::kMig && !gpu.board->mig) {
    g.Fail("mode", StrCat(gpu.board->prefix, " has no MIG mode"));
  }
  if (!errors_.ok()) return std::nullopt;
  return mode;
}

void ClusterDecoder::CheckInstances(YamlMap& g, int host, GpuMode mode,
                                    const core::VgpuType* carved,
                                    const std::vector<PendingInstance>& instances, Gpu& gpu) {
  const core::Board& board = *gpu.board;
  const MixedSizeGeometry geometry = cluster_.mixed_size.contains(board.prefix)
                                         ? cluster_.mixed_size.at(board.prefix)
                                         : MixedSizeGeometry{};
  const int slots =
      geometry.slots > 0 ? geometry.slots : board.framebuffer_mib / std::max(1, geometry.slot_mib);
  std::set<int> vms_here;
  for (std::size_t i = 0; i < instances.size() && errors_.ok(); ++i) {
    const PendingInstance& p = instances[i];
    const YamlNode& type_at = p.type_node != nullptr ? *p.type_node : *p.node;
    const std::string type_path = StrCat(p.path, ".type");
    const std::string placement_path = StrCat(p.path, ".placement");
    const Vm& vm = cluster_.vms[static_cast<std::size_t>(p.vm)];
    const bool wants_placement = mode == GpuMode::kMixedSize || mode == GpuMode::kMig;
    if (mode == GpuMode::kMig && !p.type->mig_backed) {
      errors_.Fail(
          type_at, type_path,
          StrCat(p.type->name, " is not MIG-backed; a MIG GPU holds MIG-backed types only"));
    } else if (mode != GpuMode::kMig && p.type->mig_backed) {
      errors_.Fail(type_at, type_path,
                   StrCat(p.type->name, " is MIG-backed; it needs a GPU in mode mig, not ",
                          GpuModeName(mode)));
    } else if (mode == GpuMode::kEqualSize && p.type != instances.front().type) {
      errors_.Fail(type_at, type_path,
                   StrCat("an equal-size GPU holds one type, but instances[0] is ",
                          instances.front().type->name, " and instances[", i, "] is ", p.type->name,
                          "; use one GPU per type (or mode mixed-size, vGPU 17+)"));
    } else if (mode == GpuMode::kEqualSize && carved != nullptr && p.type != carved) {
      errors_.Fail(type_at, type_path,
                   StrCat("the GPU is carved for ", carved->name, ", not ", p.type->name));
    } else if (!wants_placement && p.placement) {
      errors_.Fail(*p.node, placement_path, "placement is only for mixed-size and MIG instances");
    } else if (wants_placement && !p.placement) {
      errors_.Fail(*p.node, placement_path,
                   StrCat("required on a ", GpuModeName(mode), " GPU (the ",
                          mode == GpuMode::kMig ? "first memory slice" : "placement id", ")"));
    } else if (mode == GpuMode::kMig && *p.placement >= board.mig->memory_slices) {
      errors_.Fail(*p.node, placement_path,
                   StrCat("MIG placement ", *p.placement, " is beyond the ",
                          board.mig->memory_slices, " memory slices"));
    } else if (mode == GpuMode::kMixedSize && *p.placement >= slots) {
      errors_.Fail(*p.node, placement_path,
                   StrCat("placement ", *p.placement, " is beyond the ", slots, " slots of ",
                          board.prefix, " (see mixed_size)"));
    } else if (vm.need.type != nullptr && vm.need.type != p.type) {
      errors_.Fail(type_at, type_path,
                   StrCat("VM ", QuoteForMessage(vm.name), " has type ", vm.need.type->name,
                          ", not ", p.type->name));
    } else if (vm.need.passthrough) {
      errors_.Fail(
          *p.node, StrCat(p.path, ".vm"),
          StrCat("VM ", QuoteForMessage(vm.name), " asks for a passthrough GPU, not a vGPU"));
    } else if (!vms_here.insert(p.vm).second) {
      errors_.Fail(*p.node, StrCat(p.path, ".vm"),
                   StrCat("VM ", QuoteForMessage(vm.name),
                          " has two instances on this GPU; each vGPU of a VM needs its own GPU"));
    }
    if (!errors_.ok()) return;
    Place(p.vm, host, *p.node, StrCat(p.path, ".vm"));
    gpu.instances.push_back(Instance{p.vm, p.type, p.placement.value_or(-1)});
  }
  if (mode == GpuMode::kEqualSize) {
    gpu.carved = carved != nullptr ? carved : instances.empty() ? nullptr : instances.front().type;
    if (gpu.carved != nullptr &&
        instances.size() > static_cast<std::size_t>(gpu.carved->max_instances)) {
      g.Fail("instances", StrCat(instances.size(), " instances of ", gpu.carved->name, ", but a ",
                                 board.prefix, " GPU holds at most ", gpu.carved->max_instances));
    }
  }
}

int ClusterDecoder::ReadVmRef(const YamlNode& node, std::string_view path) {
  std::optional<std::string> name = ReadString(errors_, node, path);
  if (!name) return -1;
  auto it = vm_index_.find(*name);
  if (it != vm_index_.end()) return it->second;
  std::string why = StrCat("unknown VM ", QuoteForMessage(*name), "; list it under vms");
  if (vm_index_.size() <= 10'000) {
    std::vector<std::string> names;
    for (const auto& [known, index] : vm_index_) names.push_back(known);
    std::sort(names.begin(), names.end());
    if (auto near = ClosestMatch(*name, names)) StrAppend(&why, " (did you mean ", *near, "?)");
  }
  errors_.Fail(node, path, why);
  return -1;
}

void ClusterDecoder::Place(int vm, int host, const YamlNode& at, std::string_view path) {
  const auto v = static_cast<std::size_t>(vm);
  if (vm_host_[v] >= 0 && vm_host_[v] != host) {
    errors_.Fail(at, path,
                 StrCat("VM ", QuoteForMessage(VmName(vm)), " already runs on host ",
                        QuoteForMessage(cluster_.hosts[static_cast<std::size_t>(vm_host_[v])].name),
                        "; all vGPUs of a VM are on one host"));
    return;
  }
  vm_host_[v] = host;
  if (++vm_placed_[v] > cluster_.vms[v].vgpus) {
    errors_.Fail(at, path,
                 StrCat("VM ", QuoteForMessage(VmName(vm)), " has vgpus: ", cluster_.vms[v].vgpus,
                        " but is placed ", vm_placed_[v], " times"));
  }
}

void ClusterDecoder::CheckPlacementsComplete() {
  for (std::size_t v = 0; v < cluster_.vms.size() && errors_.ok(); ++v) {
    if (vm_placed_[v] > 0 && vm_placed_[v] < cluster_.vms[v].vgpus) {
      errors_.Fail(
          *vm_nodes_[v], IndexPath("vms", v),
          StrCat("VM ", QuoteForMessage(cluster_.vms[v].name), " needs ", cluster_.vms[v].vgpus,
                 " vGPUs but the hosts place ", vm_placed_[v], "; list all of them or none"));
    }
  }
}

}  // namespace

absl::StatusOr<Cluster> ParseClusterYaml(std::string_view text, std::string_view file_name,
                                         const core::Catalog& catalog) {
  absl::StatusOr<YamlNode> root = ParseYaml(text, file_name);
  if (!root.ok()) return root.status();
  if (root->kind == YamlNode::Kind::kNull) {
    YamlErrors errors{std::string(file_name)};
    errors.Fail(*root, "", "the file is empty; expected a map with a hosts list");
    return errors.status();
  }
  return DecodeClusterNode(*root, file_name, catalog);
}

absl::StatusOr<Cluster> DecodeClusterNode(const YamlNode& root, std::string_view file_name,
                                          const core::Catalog& catalog) {
  YamlErrors errors{std::string(file_name)};
  YamlMap top(errors, root, "");
  ClusterDecoder decoder(errors, catalog);
  // VMs first: the instances on the hosts name them.
  if (const YamlNode* vms = top.List("vms")) decoder.DecodeVms(*vms);
  if (const YamlNode* licenses = top.Get("licenses")) decoder.DecodeLicenses(*licenses);
  if (const YamlNode* mixed = top.Get("mixed_size")) decoder.DecodeMixedSize(*mixed);
  if (const YamlNode* hosts = top.List("hosts", /*required=*/true)) decoder.DecodeHosts(*hosts);
  decoder.CheckPlacementsComplete();
  top.Finish();
  if (!errors.ok()) return errors.status();
  Cluster cluster = decoder.TakeCluster();
  cluster.catalog = &catalog;
  return cluster;
}

}  // namespace gpufleet::planner
