// The scenario file, decoded with the planner's strict YAML reader (planner/yaml_reader.h), which
// is the one place where yaml-cpp's exceptions become Status and every error names its field.

#include "backends/sim/scenario_yaml.h"

#include <charconv>
#include <cmath>
#include <set>

#include "common/strings.h"
#include "planner/vm_yaml.h"
#include "planner/yaml_reader.h"
#include "planner/yaml_tree.h"

namespace gpufleet::backends::sim {
namespace {

using planner::IndexPath;
using planner::YamlErrors;
using planner::YamlMap;
using planner::YamlNode;
namespace yi = planner::yaml_internal;

constexpr int kMaxHosts = 10'000;
constexpr int kMaxGpus = 64;
constexpr int kMaxCount = 1'000'000;

std::optional<double> ReadDouble(YamlErrors& errors, const YamlNode& node, std::string_view path,
                                 double min, double max) {
  std::optional<std::string> text = planner::ReadString(errors, node, path);
  if (!text) return std::nullopt;
  double value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    errors.Fail(node, path, StrCat("expected a number, got \"", *text, "\""));
    return std::nullopt;
  }
  if (value < min || value > max) {
    errors.Fail(node, path,
                StrCat("must be within ", std::to_string(min), " .. ", std::to_string(max)));
    return std::nullopt;
  }
  return value;
}

std::optional<double> OptDouble(YamlMap& m, std::string_view key, double min, double max) {
  const YamlNode* node = m.Get(key);
  return node ? ReadDouble(m.errors(), *node, m.PathOf(key), min, max) : std::nullopt;
}

// "3s", "90m", "24h", "1h30m" (absl::ParseDuration), at least zero.
std::optional<absl::Duration> OptDuration(YamlMap& m, std::string_view key) {
  const YamlNode* node = m.Get(key);
  if (node == nullptr) return std::nullopt;
  std::optional<std::string> text = planner::ReadString(m.errors(), *node, m.PathOf(key));
  if (!text) return std::nullopt;
  absl::Duration d;
  if (!absl::ParseDuration(*text, &d) || d < absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    m.errors().Fail(*node, m.PathOf(key),
                    StrCat("expected a duration like 3s, 90m or 24h, got \"", *text, "\""));
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> OptName(YamlMap& m, std::string_view key, bool required) {
  const YamlNode* node = required ? m.Require(key) : m.Get(key);
  return node ? yi::ReadName(m.errors(), *node, m.PathOf(key)) : std::nullopt;
}

class ScenarioDecoder {
 public:
  ScenarioDecoder(YamlErrors& errors, const core::Catalog& catalog)
      : errors_(errors), catalog_(catalog) {}

  void Decode(const YamlNode& root);
  Scenario Take() { return std::move(scenario_); }

 private:
  void DecodeHost(const YamlNode& node, const std::string& path);
  BmcSpec DecodeBmc(const YamlNode& node, const std::string& path);
  GpuSpec DecodeGpu(const YamlNode& node, const std::string& path);
  void DecodeVm(const YamlNode& node, const std::string& path);
  void DecodeLicenses(YamlMap& root);
  void DecodeMixedSize(const YamlNode& node);
  void DecodeFaults(const YamlNode& node);
  // A reference to a host of the file; nullptr (with an error) when there is none.
  const HostSpec* ReadHostRef(const YamlNode& node, const std::string& path);
  const GpuSpec* ReadGpuRef(const HostSpec& host, const YamlNode& node, const std::string& path);

  YamlErrors& errors_;
  const core::Catalog& catalog_;
  Scenario scenario_;
};

void ScenarioDecoder::Decode(const YamlNode& root) {
  YamlMap m(errors_, root, "");
  if (const YamlNode* hosts = m.List("hosts", /*required=*/true)) {
    if (hosts->children.size() > static_cast<std::size_t>(kMaxHosts)) {
      errors_.Fail(*hosts, "hosts", StrCat("more than ", kMaxHosts, " hosts"));
    }
    for (std::size_t i = 0; i < hosts->children.size() && errors_.ok(); ++i) {
      DecodeHost(hosts->children[i], IndexPath("hosts", i));
    }
  }
  if (const YamlNode* vms = m.List("vms")) {
    for (std::size_t i = 0; i < vms->children.size() && errors_.ok(); ++i) {
      DecodeVm(vms->children[i], IndexPath("vms", i));
    }
  }
  DecodeLicenses(m);
  if (const YamlNode* mixed = m.Get("mixed_size")) DecodeMixedSize(*mixed);
  if (const YamlNode* sim = m.Get("sim")) {
    YamlMap s(errors_, *sim, "sim");
    SimParams& p = scenario_.sim;
    p.teardown_delay = OptDuration(s, "teardown_delay").value_or(p.teardown_delay);
    p.thermal_time_constant =
        OptDuration(s, "thermal_time_constant").value_or(p.thermal_time_constant);
    p.ambient_c = OptDouble(s, "ambient_c", -40, 60).value_or(p.ambient_c);
    p.seed = static_cast<uint64_t>(s.OptInt("seed", 0, 1 << 30).value_or(1));
    s.Finish();
  }
  if (const YamlNode* faults = m.Get("faults")) DecodeFaults(*faults);
  m.Finish();
}

void ScenarioDecoder::DecodeHost(const YamlNode& node, const std::string& path) {
  YamlMap h(errors_, node, path);
  HostSpec host;
  host.name = OptName(h, "name", true).value_or("");
  if (const YamlNode* hv = h.Get("hypervisor")) {
    host.hypervisor =
        std::string(yi::ReadEnum<std::string_view>(errors_, *hv, h.PathOf("hypervisor"),
                                                   {{"kvm", "kvm"}, {"vsphere", "vsphere"}})
                        .value_or("kvm"));
  }
  if (const YamlNode* manager = h.Get("vgpu_manager")) {
    auto v = yi::ReadDriver(errors_, *manager, h.PathOf("vgpu_manager"));
    if (v) host.vgpu_manager = v->ToString();
  }
  host.hotmigrate = h.OptBool("hotmigrate").value_or(true);
  host.link_gbps = h.OptInt("link_gbps", 1, 100'000).value_or(10);
  if (const YamlNode* bmc = h.Get("bmc")) host.bmc = DecodeBmc(*bmc, h.PathOf("bmc"));
  if (const YamlNode* gpus = h.List("gpus")) {
    if (gpus->children.size() > static_cast<std::size_t>(kMaxGpus)) {
      errors_.Fail(*gpus, h.PathOf("gpus"), StrCat("more than ", kMaxGpus, " GPUs"));
    }
    std::set<std::string> ids;
    for (std::size_t i = 0; i < gpus->children.size() && errors_.ok(); ++i) {
      const std::string gpath = IndexPath(h.PathOf("gpus"), i);
      GpuSpec gpu = DecodeGpu(gpus->children[i], gpath);
      if (errors_.ok() && !ids.insert(gpu.id).second) {
        errors_.Fail(gpus->children[i], gpath + ".id", StrCat("duplicate GPU id \"", gpu.id, "\""));
      }
      host.gpus.push_back(std::move(gpu));
    }
  }
  h.Finish();
  for (const HostSpec& other : scenario_.hosts) {
    if (errors_.ok() && other.name == host.name) {
      h.Fail("name", StrCat("duplicate host name \"", host.name, "\""));
    }
  }
  scenario_.hosts.push_back(std::move(host));
}

BmcSpec ScenarioDecoder::DecodeBmc(const YamlNode& node, const std::string& path) {
  YamlMap b(errors_, node, path);
  BmcSpec bmc;
  bmc.fans = b.OptInt("fans", 0, 64).value_or(bmc.fans);
  bmc.max_rpm = b.OptInt("max_rpm", 1, 100'000).value_or(bmc.max_rpm);
  bmc.inlet_c = OptDouble(b, "inlet_c", -40, 60);
  bmc.min_duty = b.OptInt("min_duty", 0, 100).value_or(bmc.min_duty);
  bmc.duty_per_c = OptDouble(b, "duty_per_c", 0, 100).value_or(bmc.duty_per_c);
  bmc.sees_gpu_temperature = b.OptBool("sees_gpu_temperature").value_or(false);
  b.Finish();
  return bmc;
}

GpuSpec ScenarioDecoder::DecodeGpu(const YamlNode& node, const std::string& path) {
  YamlMap g(errors_, node, path);
  GpuSpec gpu;
  gpu.id = OptName(g, "id", true).value_or("");
  if (const YamlNode* board = g.Require("board")) {
    gpu.board = yi::ReadBoard(errors_, *board, g.PathOf("board"), catalog_);
  }
  gpu.ecc = g.OptBool("ecc").value_or(false);
  if (const YamlNode* mode = g.Get("mode")) {
    gpu.mode = yi::ReadEnum<GpuMode>(errors_, *mode, g.PathOf("mode"),
                                     {{"unconfigured", GpuMode::kUnconfigured},
                                      {"equal-size", GpuMode::kEqualSize},
                                      {"mixed-size", GpuMode::kMixedSize},
                                      {"mig", GpuMode::kMig},
                                      {"passthrough", GpuMode::kPassthrough}})
                   .value_or(GpuMode::kUnconfigured);
  }
  if (const YamlNode* carved = g.Get("carved"); carved != nullptr && gpu.board != nullptr) {
    gpu.carved = yi::ReadType(errors_, *carved, g.PathOf("carved"), catalog_, gpu.board);
    if (gpu.mode == GpuMode::kUnconfigured) gpu.mode = GpuMode::kEqualSize;
  }
  gpu.tdp_w = OptDouble(g, "tdp_w", 1, 2000);
  gpu.utilisation_pct = OptDouble(g, "utilisation", 0, 100);
  g.Finish();
  if (errors_.ok() && gpu.board != nullptr) {
    if (gpu.mode == GpuMode::kMig && !gpu.board->mig) {
      g.Fail("mode", StrCat(gpu.board->name, " has no MIG"));
    } else if (gpu.mode == GpuMode::kMixedSize && gpu.board->mixed_size == false) {
      g.Fail("mode", StrCat(gpu.board->name, " does not support mixed-size vGPU"));
    }
  }
  return gpu;
}

const HostSpec* ScenarioDecoder::ReadHostRef(const YamlNode& node, const std::string& path) {
  std::optional<std::string> name = planner::ReadString(errors_, node, path);
  if (!name) return nullptr;
  for (const HostSpec& h : scenario_.hosts) {
    if (h.name == *name) return &h;
  }
  errors_.Fail(node, path, StrCat("unknown host \"", *name, "\""));
  return nullptr;
}

const GpuSpec* ScenarioDecoder::ReadGpuRef(const HostSpec& host, const YamlNode& node,
                                           const std::string& path) {
  std::optional<std::string> id = planner::ReadString(errors_, node, path);
  if (!id) return nullptr;
  for (const GpuSpec& g : host.gpus) {
    if (g.id == *id) return &g;
  }
  errors_.Fail(node, path, StrCat("host ", host.name, " has no GPU \"", *id, "\""));
  return nullptr;
}

void ScenarioDecoder::DecodeVm(const YamlNode& node, const std::string& path) {
  YamlMap m(errors_, node, path);
  VmSpec vm;
  vm.name = OptName(m, "name", true).value_or("");
  const HostSpec* host = nullptr;
  if (const YamlNode* h = m.Require("host")) host = ReadHostRef(*h, m.PathOf("host"));
  if (host != nullptr) vm.host = host->name;
  const GpuSpec* gpu = nullptr;
  const YamlNode* type = m.Get("type");
  const YamlNode* gpu_node = m.Get("gpu");
  if (gpu_node != nullptr && host != nullptr) gpu = ReadGpuRef(*host, *gpu_node, m.PathOf("gpu"));
  if (gpu != nullptr) vm.gpu = gpu->id;
  if (type != nullptr && errors_.ok()) {
    if (gpu_node == nullptr) m.Fail("type", "a VM with a vGPU needs `gpu`, the GPU it runs on");
    vm.type = yi::ReadType(errors_, *type, m.PathOf("type"), catalog_,
                           gpu != nullptr ? gpu->board : nullptr);
  } else if (gpu_node != nullptr && errors_.ok()) {
    m.Fail("gpu", "a VM on a GPU needs `type`, its vGPU type");
  }
  vm.placement = m.OptInt("placement", 0, 4095).value_or(-1);
  if (std::optional<std::string> uuid = m.OptString("uuid")) {
    absl::StatusOr<Uuid> parsed = Uuid::Parse(*uuid);
    if (parsed.ok()) {
      vm.uuid = *parsed;
    } else {
      m.Fail("uuid", ToStd(parsed.status().message()));
    }
  }
  vm.running = m.OptBool("running").value_or(true);
  if (const YamlNode* driver = m.Get("guest_driver")) {
    auto v = yi::ReadDriver(errors_, *driver, m.PathOf("guest_driver"));
    if (v) vm.guest_driver = v->ToString();
  }
  if (const YamlNode* license = m.Get("license")) {
    vm.license = yi::ReadEdition(errors_, *license, m.PathOf("license"), catalog_).value_or("");
  }
  vm.load_pct = OptDouble(m, "load", 0, 100).value_or(0);
  m.Finish();
  for (const VmSpec& other : scenario_.vms) {
    if (errors_.ok() && other.name == vm.name) {
      m.Fail("name", StrCat("duplicate VM name \"", vm.name, "\""));
    }
  }
  scenario_.vms.push_back(std::move(vm));
}

void ScenarioDecoder::DecodeLicenses(YamlMap& root) {
  LicenseServerSpec& spec = scenario_.license_server;
  if (const YamlNode* pools = root.Get("licenses")) {
    YamlMap p(errors_, *pools, "licenses");
    if (pools->kind != YamlNode::Kind::kMap) return;
    for (const YamlNode& seats : pools->children) {
      YamlNode key;
      key.kind = YamlNode::Kind::kScalar;
      key.scalar = seats.key;
      key.line = seats.key_line;
      key.column = seats.key_column;
      const std::string path = p.PathOf(seats.key);
      std::optional<std::string> edition = yi::ReadEdition(errors_, key, path, catalog_);
      std::optional<int> n = planner::ReadInt(errors_, seats, path, 0, kMaxCount);
      if (edition && n) spec.pools[*edition] = *n;
    }
  }
  if (const YamlNode* server = root.Get("license_server")) {
    YamlMap s(errors_, *server, "license_server");
    spec.lease = OptDuration(s, "lease").value_or(spec.lease);
    spec.renewal = OptDuration(s, "renewal").value_or(spec.renewal);
    s.Finish();
    if (errors_.ok() && spec.renewal <= absl::ZeroDuration()) {
      s.Fail("renewal", "must be longer than zero");
    }
  }
}

void ScenarioDecoder::DecodeMixedSize(const YamlNode& node) {
  YamlMap m(errors_, node, "mixed_size");
  if (node.kind != YamlNode::Kind::kMap) return;
  for (const YamlNode& entry : node.children) {
    const std::string path = m.PathOf(entry.key);
    absl::StatusOr<const core::Board*> board = catalog_.ResolveBoard(entry.key);
    if (!board.ok()) {
      errors_.Fail(entry.key_line, entry.key_column, path, ToStd(board.status().message()));
      return;
    }
    YamlMap g(errors_, entry, path);
    MixedSizeSpec spec;
    spec.slot_mib = g.OptSizeMib("slot_mib", 1 << 20).value_or(spec.slot_mib);
    spec.slots = g.OptInt("slots", 0, 4096).value_or(0);
    spec.reserved_slots = g.OptInt("reserved_slots", 0, 4096).value_or(0);
    g.Finish();
    if (errors_.ok() && spec.slot_mib <= 0) g.Fail("slot_mib", "a slot holds at least 1 MiB");
    scenario_.mixed_size[(*board)->prefix] = spec;
  }
}

void ScenarioDecoder::DecodeFaults(const YamlNode& node) {
  YamlMap f(errors_, node, "faults");
  FaultSpec& faults = scenario_.faults;
  auto host_list = [&](std::string_view key, std::vector<std::string>& out) {
    if (const YamlNode* list = f.List(key)) {
      for (std::size_t i = 0; i < list->children.size(); ++i) {
        const HostSpec* h = ReadHostRef(list->children[i], IndexPath(f.PathOf(key), i));
        if (h != nullptr) out.push_back(h->name);
      }
    }
  };
  host_list("crashed_hosts", faults.crashed_hosts);
  host_list("bmc_unreachable", faults.bmc_unreachable);
  faults.license_server_down = f.OptBool("license_server_down").value_or(false);
  if (const YamlNode* list = f.List("lost_gpus")) {
    for (std::size_t i = 0; i < list->children.size() && errors_.ok(); ++i) {
      YamlMap g(errors_, list->children[i], IndexPath(f.PathOf("lost_gpus"), i));
      const YamlNode* h = g.Require("host");
      const YamlNode* id = g.Require("gpu");
      g.Finish();
      const HostSpec* host = h ? ReadHostRef(*h, g.PathOf("host")) : nullptr;
      const GpuSpec* gpu = host && id ? ReadGpuRef(*host, *id, g.PathOf("gpu")) : nullptr;
      if (gpu != nullptr) faults.lost_gpus.push_back(GpuRef{host->name, gpu->id});
    }
  }
  if (const YamlNode* list = f.List("sysfs")) {
    for (std::size_t i = 0; i < list->children.size() && errors_.ok(); ++i) {
      YamlMap s(errors_, list->children[i], IndexPath(f.PathOf("sysfs"), i));
      SysfsFaultSpec spec;
      const YamlNode* h = s.Require("host");
      const HostSpec* host = h ? ReadHostRef(*h, s.PathOf("host")) : nullptr;
      if (host != nullptr) spec.host = host->name;
      spec.failure_probability = OptDouble(s, "failure_probability", 0, 1).value_or(0);
      spec.delay = OptDuration(s, "delay").value_or(absl::ZeroDuration());
      s.Finish();
      faults.sysfs.push_back(std::move(spec));
    }
  }
  f.Finish();
}

}  // namespace

absl::StatusOr<Scenario> ParseScenarioYaml(std::string_view text, std::string_view file_name,
                                           const core::Catalog& catalog) {
  absl::StatusOr<YamlNode> root = planner::ParseYaml(text, file_name);
  if (!root.ok()) return root.status();
  YamlErrors errors{std::string(file_name)};
  ScenarioDecoder decoder(errors, catalog);
  decoder.Decode(*root);
  if (!errors.ok()) return errors.status();
  return decoder.Take();
}

}  // namespace gpufleet::backends::sim
