#include "backends/sim/sim_persist.h"

#include <array>
#include <limits>
#include <optional>
#include <set>

#include "absl/time/time.h"
#include "backends/sim/geometry.h"
#include "common/json.h"
#include "common/strings.h"
#include "common/uuid.h"

namespace gpufleet::backends::sim::internal {
namespace {

using nlohmann::json;

constexpr std::array kModes = {GpuMode::kUnconfigured, GpuMode::kEqualSize, GpuMode::kMixedSize,
                               GpuMode::kMig, GpuMode::kPassthrough};
constexpr int kMaxPlacement = 4096;

absl::Status Bad(std::string_view path, std::string_view key, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(path, ".", key, ": ", why));
}

std::string Quoted(std::string_view s) { return StrCat("\"", s, "\""); }

std::optional<GpuMode> ParseMode(std::string_view name) {
  for (GpuMode m : kModes) {
    if (GpuModeName(m) == name) return m;
  }
  return std::nullopt;
}

bool PlacedMode(GpuMode m) { return m == GpuMode::kMixedSize || m == GpuMode::kMig; }

// A catalog type of the GPU's board, by its canonical name; the file never holds other spellings.
absl::StatusOr<const core::VgpuType*> TypeOf(const core::Catalog& catalog, const SimGpu& gpu,
                                             std::string_view name) {
  const core::VgpuType* type = catalog.FindTypeByName(name);
  if (type == nullptr) {
    return absl::InvalidArgumentError(StrCat("unknown vGPU type ", Quoted(name)));
  }
  if (type->board_prefix != gpu.board->prefix) {
    return absl::InvalidArgumentError(
        StrCat(name, " is not a type of ", gpu.board->name, " (", gpu.board->prefix, ")"));
  }
  return type;
}

json InstanceJson(const SimInstance& i) {
  json until = nullptr;
  if (i.gone_at) until = absl::FormatTime(absl::RFC3339_full, *i.gone_at, absl::UTCTimeZone());
  return {{"uuid", i.uuid.ToString()}, {"type", i.type->name},
          {"placement", i.placement},  {"vm", i.vm},
          {"active", i.active},        {"teardown_until", until}};
}

// Checks one instance of the file and puts it on `gpu` (whose mode and carving are the file's).
absl::Status DecodeInstance(const json& j, const std::string& path, const core::Catalog& catalog,
                            const MixedSizeSpec& geometry, std::set<Uuid>& uuids, SimGpu& gpu) {
  JsonReader r(j, path);
  const std::string uuid_text = r.String("uuid");
  const std::string type_name = r.String("type");
  const int placement = r.Int("placement", -1, kMaxPlacement);
  std::string vm = r.String("vm");
  const bool active = r.Bool("active");
  const std::optional<std::string> until_text = r.OptString("teardown_until");
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  absl::StatusOr<Uuid> uuid = Uuid::Parse(uuid_text);
  if (!uuid.ok()) return Bad(path, "uuid", StrCat("not a UUID: ", Quoted(uuid_text)));
  if (!uuids.insert(*uuid).second) {
    return Bad(path, "uuid", StrCat("duplicate UUID ", uuid->ToString(), " on the host"));
  }
  absl::StatusOr<const core::VgpuType*> type = TypeOf(catalog, gpu, type_name);
  if (!type.ok()) return Bad(path, "type", ToStd(type.status().message()));
  if (gpu.mode == GpuMode::kEqualSize && gpu.carved != *type) {
    return Bad(path, "type",
               StrCat(type_name, " on a GPU carved for ",
                      gpu.carved != nullptr ? gpu.carved->name : "no type"));
  }
  if (PlacedMode(gpu.mode) && placement < 0) {
    return Bad(path, "placement", StrCat("required in ", GpuModeName(gpu.mode), " mode"));
  }
  absl::StatusOr<int> fit = FitInstance(gpu, **type, placement, geometry);
  if (!fit.ok()) return Bad(path, "placement", ToStd(fit.status().message()));
  std::optional<absl::Time> until;
  if (until_text) {
    absl::Time t;
    std::string why;
    if (!absl::ParseTime(absl::RFC3339_full, *until_text, &t, &why)) {
      return Bad(path, "teardown_until", StrCat("not an RFC 3339 time: ", Quoted(*until_text)));
    }
    until = t;
  }
  if (active && vm.empty()) return Bad(path, "active", "true, but no vm uses the instance");
  if (active && until) return Bad(path, "active", "true for an instance that is tearing down");
  AddInstance(gpu, SimInstance{*uuid, *type, *fit, std::move(vm), active, until});
  return absl::OkStatus();
}

absl::Status DecodeGpu(const json& j, const std::string& path, const core::Catalog& catalog,
                       const GeometryFn& geometry, std::set<Uuid>& uuids, SimGpu& gpu) {
  JsonReader r(j, path);
  const std::string id = r.String("id");
  const std::string board = r.String("board");
  const std::string mode_name = r.String("mode");
  const std::optional<std::string> carved_name = r.OptString("carved");
  const json* instances = r.Array("instances");
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  if (id != gpu.id) {
    return Bad(path, "id", StrCat(Quoted(id), ", but the scenario's GPU is ", Quoted(gpu.id)));
  }
  if (board != gpu.board->prefix) {
    return Bad(
        path, "board",
        StrCat(Quoted(board), ", but the scenario's GPU ", gpu.id, " is a ", gpu.board->prefix));
  }
  const std::optional<GpuMode> mode = ParseMode(mode_name);
  if (!mode) {
    return Bad(path, "mode",
               StrCat("unknown mode ", Quoted(mode_name),
                      " (unconfigured, equal-size, mixed-size, mig, passthrough)"));
  }
  // The simulator changes a mode only by carving an unconfigured GPU on its first instance.
  const bool reachable =
      *mode == gpu.mode || (gpu.mode == GpuMode::kUnconfigured && *mode == GpuMode::kEqualSize);
  if (!reachable) {
    return Bad(path, "mode",
               StrCat(mode_name, ", but the scenario's GPU is ", GpuModeName(gpu.mode),
                      " and the simulator never changes that"));
  }
  if (*mode == GpuMode::kUnconfigured && !instances->empty()) {
    return Bad(path, "mode", "unconfigured, but the GPU has instances (they carve it)");
  }
  const core::VgpuType* carved = nullptr;
  if (carved_name) {
    absl::StatusOr<const core::VgpuType*> type = TypeOf(catalog, gpu, *carved_name);
    if (!type.ok()) return Bad(path, "carved", ToStd(type.status().message()));
    if (*mode != GpuMode::kEqualSize) {
      return Bad(path, "carved", StrCat("set, but the GPU is in ", mode_name, " mode"));
    }
    carved = *type;
  } else if (*mode == GpuMode::kEqualSize && !instances->empty()) {
    return Bad(path, "carved", "required on an equal-size GPU with instances");
  }
  gpu.mode = *mode;
  gpu.carved = carved;
  gpu.instances.clear();
  for (std::size_t i = 0; i < instances->size(); ++i) {
    if (absl::Status s = DecodeInstance((*instances)[i], StrCat(path, ".instances[", i, "]"),
                                        catalog, geometry(*gpu.board), uuids, gpu);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeHost(const json& j, const std::string& path, const core::Catalog& catalog,
                        const GeometryFn& geometry, SimHost& host) {
  JsonReader r(j, path);
  const std::string name = r.String("name");
  const json* gpus = r.Array("gpus");
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  if (name != host.name) {
    return Bad(path, "name",
               StrCat(Quoted(name), ", but the scenario's host is ", Quoted(host.name)));
  }
  if (gpus->size() != host.gpus.size()) {
    return Bad(path, "gpus",
               StrCat(gpus->size(), " GPUs, but the scenario's host ", host.name, " has ",
                      host.gpus.size()));
  }
  std::set<Uuid> uuids;
  for (std::size_t g = 0; g < gpus->size(); ++g) {
    if (absl::Status s = DecodeGpu((*gpus)[g], StrCat(path, ".gpus[", g, "]"), catalog, geometry,
                                   uuids, host.gpus[g]);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Decode(std::string_view text, std::string_view what, const core::Catalog& catalog,
                    const GeometryFn& geometry, std::vector<SimHost>& hosts) {
  absl::StatusOr<json> parsed = ParseJson(text, what);
  if (!parsed.ok()) return parsed.status();
  JsonReader r(*parsed, "");
  const int version = r.Int("version", 0, std::numeric_limits<int>::max());
  const json* list = r.Array("hosts");
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  if (version != kSimStateVersion) {
    return absl::InvalidArgumentError(
        StrCat("version: ", version, ", but this build reads version ", kSimStateVersion));
  }
  if (list->size() != hosts.size()) {
    return absl::InvalidArgumentError(
        StrCat("hosts: ", list->size(), " hosts, but the scenario has ", hosts.size()));
  }
  for (std::size_t h = 0; h < list->size(); ++h) {
    if (absl::Status s =
            DecodeHost((*list)[h], StrCat("hosts[", h, "]"), catalog, geometry, hosts[h]);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeSimState(const std::vector<SimHost>& hosts) {
  json list = json::array();
  for (const SimHost& host : hosts) {
    json gpus = json::array();
    for (const SimGpu& gpu : host.gpus) {
      json instances = json::array();
      for (const SimInstance& i : gpu.instances) instances.push_back(InstanceJson(i));
      gpus.push_back({{"id", gpu.id},
                      {"board", gpu.board->prefix},
                      {"mode", std::string(GpuModeName(gpu.mode))},
                      {"carved", gpu.carved != nullptr ? json(gpu.carved->name) : json(nullptr)},
                      {"instances", std::move(instances)}});
    }
    list.push_back({{"name", host.name}, {"gpus", std::move(gpus)}});
  }
  return json{{"version", kSimStateVersion}, {"hosts", std::move(list)}}.dump(1) + "\n";
}

absl::Status ApplySimState(std::string_view text, std::string_view what,
                           const core::Catalog& catalog, const GeometryFn& geometry,
                           std::vector<SimHost>& hosts) {
  // Decoded into a copy, so that a bad file changes nothing.
  std::vector<SimHost> loaded = hosts;
  absl::Status s = Decode(text, what, catalog, geometry, loaded);
  if (!s.ok()) {
    // ParseJson's messages already name the file.
    if (ToStd(s.message()).starts_with(what)) return s;
    return absl::InvalidArgumentError(StrCat(what, ": ", s.message()));
  }
  hosts = std::move(loaded);
  return absl::OkStatus();
}

}  // namespace gpufleet::backends::sim::internal
