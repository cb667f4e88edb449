#include "controller/creatable.h"

#include <set>
#include <string_view>

#include "common/json.h"
#include "common/pci_address.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::controller {
namespace {

constexpr std::size_t kMaxCreatableGpus = 64;
constexpr std::size_t kMaxTypesPerGpu = 128;
constexpr std::size_t kMaxGpuId = 64;

absl::StatusOr<GpuCreatable> DecodeGpu(const nlohmann::json& j, const std::string& path,
                                       const core::Catalog& catalog) {
  if (!j.is_object()) return InvalidField(path, "expected an object");
  JsonReader r(j, path);
  GpuCreatable out;
  out.gpu = r.String("gpu");
  const nlohmann::json* types = r.Array("types");
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  if (out.gpu.empty() || out.gpu.size() > kMaxGpuId) {
    return InvalidField(r.PathOf("gpu"), "must be 1 to 64 characters");
  }
  if (absl::StatusOr<PciAddress> pci = PciAddress::Parse(out.gpu); pci.ok()) {
    out.gpu = pci->ToString();
  }
  if (types->size() > kMaxTypesPerGpu)
    return InvalidField(r.PathOf("types"), "more than 128 types");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < types->size(); ++i) {
    const std::string item = StrCat(r.PathOf("types"), "[", i, "]");
    if (!(*types)[i].is_object()) return InvalidField(item, "expected an object");
    JsonReader t((*types)[i], item);
    const std::string name = t.String("type");
    const int available = t.Int("available", 0, 1024);
    GPUFLEET_RETURN_IF_ERROR(t.Finish());
    absl::StatusOr<const core::VgpuType*> type = catalog.ResolveType(name);
    if (!type.ok()) return InvalidField(t.PathOf("type"), ToStd(type.status().message()));
    if (!seen.insert((*type)->name).second) {
      return InvalidField(t.PathOf("type"), StrCat((*type)->name, " is listed twice"));
    }
    out.types.emplace_back((*type)->name, available);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<GpuCreatable>> DecodeCreatable(const nlohmann::json& list,
                                                          const core::Catalog& catalog) {
  if (!list.is_array()) return InvalidField("creatable", "expected an array");
  if (list.size() > kMaxCreatableGpus) return InvalidField("creatable", "more than 64 GPUs");
  std::vector<GpuCreatable> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = StrCat("creatable[", i, "]");
    GPUFLEET_ASSIGN_OR_RETURN(GpuCreatable gpu, DecodeGpu(list[i], path, catalog));
    if (!seen.insert(gpu.gpu).second) {
      return InvalidField(StrCat(path, ".gpu"), StrCat("GPU ", gpu.gpu, " is listed twice"));
    }
    out.push_back(std::move(gpu));
  }
  return out;
}

nlohmann::json CreatableJson(const std::vector<GpuCreatable>& creatable) {
  nlohmann::json list = nlohmann::json::array();
  for (const GpuCreatable& g : creatable) {
    nlohmann::json types = nlohmann::json::array();
    for (const auto& [type, available] : g.types) {
      types.push_back({{"type", type}, {"available", available}});
    }
    list.push_back({{"gpu", g.gpu}, {"types", std::move(types)}});
  }
  return list;
}

absl::Status CheckCreatable(const std::vector<GpuCreatable>& creatable, const std::string& host,
                            const std::map<std::string, std::string, std::less<>>& board_of,
                            const core::Catalog& catalog) {
  for (std::size_t i = 0; i < creatable.size(); ++i) {
    const GpuCreatable& g = creatable[i];
    auto board = board_of.find(g.gpu);
    if (board == board_of.end()) {
      return InvalidField(StrCat("creatable[", i, "].gpu"),
                          StrCat("host ", host, " has no GPU ", QuoteForMessage(g.gpu)));
    }
    for (std::size_t j = 0; j < g.types.size(); ++j) {
      const core::VgpuType* t = catalog.FindTypeByName(g.types[j].first);
      if (t != nullptr && t->board_prefix != board->second) {
        return InvalidField(
            StrCat("creatable[", i, "].types[", j, "].type"),
            StrCat(t->name, " is not a type of board ", board->second, " (gpu ", g.gpu, ")"));
      }
    }
  }
  return absl::OkStatus();
}

void CreatableByHost::Set(const std::string& host, std::vector<GpuCreatable> creatable) {
  std::lock_guard<std::mutex> lock(mu_);
  if (creatable.empty()) {
    hosts_.erase(host);
  } else {
    hosts_[host] = std::move(creatable);
  }
}

std::vector<GpuCreatable> CreatableByHost::Get(const std::string& host) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hosts_.find(host);
  return it == hosts_.end() ? std::vector<GpuCreatable>{} : it->second;
}

}  // namespace gpufleet::controller
