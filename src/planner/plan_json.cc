#include "planner/plan_json.h"

#include <string>
#include <utility>
#include <vector>

namespace gpufleet::planner {
namespace {

using nlohmann::json;

const Vm& VmAt(const Cluster& c, int vm) { return c.vms[static_cast<std::size_t>(vm)]; }

}  // namespace

json GpuJson(const Cluster& c, const Gpu& g) {
  // MIG and mixed-size GPUs are a row of slots (memory slices, framebuffer slots): each instance
  // starts at its placement and spans `span` of them, so a drawing can show the gaps.
  auto geometry = c.mixed_size.find(g.board->prefix);
  const MixedSizeGeometry geo =
      geometry != c.mixed_size.end() ? geometry->second : MixedSizeGeometry{};
  json instances = json::array();
  for (const Instance& i : g.instances) {
    json inst = {{"vm", VmAt(c, i.vm).name}, {"type", i.type->name}};
    if (i.placement >= 0) inst["placement"] = i.placement;
    if (g.mode == GpuMode::kMig) inst["span"] = MigMemorySpan(*g.board, *i.type);
    if (g.mode == GpuMode::kMixedSize) inst["span"] = MixedSizeSlots(*i.type, geo);
    instances.push_back(std::move(inst));
  }
  json j = {{"id", g.id},
            {"board", g.board->prefix},
            {"mode", GpuModeName(g.mode)},
            {"carved", g.carved != nullptr ? json(g.carved->name) : json(nullptr)},
            {"instances", std::move(instances)},
            {"framebuffer_used_mib", UsedFramebufferMib(g)},
            {"framebuffer_mib", g.board->framebuffer_mib}};
  if (g.mode == GpuMode::kEqualSize && g.carved != nullptr) {
    j["max_instances"] = g.carved->max_instances;
  }
  if (g.mode == GpuMode::kMig) {
    j["slots"] = g.board->mig ? g.board->mig->memory_slices : 8;
  }
  if (g.mode == GpuMode::kMixedSize) {
    j["slots"] = MixedSizeTotalSlots(*g.board, geo);
    j["reserved_slots"] = geo.reserved_slots;
  }
  if (g.mode == GpuMode::kPassthrough) {
    j["passthrough_vm"] =
        g.passthrough_vm >= 0 ? json(VmAt(c, g.passthrough_vm).name) : json(nullptr);
  }
  return j;
}

json PlanResultJson(const PlanResult& r) {
  const Cluster& c = r.cluster;
  int gpus = 0;
  json hosts = json::array();
  for (const Host& h : c.hosts) {
    json host_gpus = json::array();
    for (const Gpu& g : h.gpus) host_gpus.push_back(GpuJson(c, g));
    gpus += static_cast<int>(h.gpus.size());
    hosts.push_back({{"name", h.name}, {"state", HostStateName(h.state)}, {"gpus", host_gpus}});
  }
  json placed = json::array();
  for (const Assignment& a : r.placed) {
    const Host& h = c.hosts[static_cast<std::size_t>(a.host)];
    std::vector<std::string> ids, types;
    for (int g : a.gpus) ids.push_back(h.gpus[static_cast<std::size_t>(g)].id);
    for (const core::VgpuType* t : a.types) types.push_back(t != nullptr ? t->name : "passthrough");
    placed.push_back(
        {{"vm", VmAt(c, a.vm).name}, {"host", h.name}, {"gpus", ids}, {"types", types}});
  }
  json rejected = json::array();
  for (const Rejection& x : r.rejected) {
    rejected.push_back({{"vm", VmAt(c, x.vm).name}, {"reason", x.reason}});
  }
  json bounds = json::array();
  for (const BoardBound& b : r.bounds) {
    bounds.push_back({{"board", b.board},
                      {"gpus_needed", b.gpus_needed},
                      {"gpus_used", b.gpus_used},
                      {"gap", b.gpus_used - b.gpus_needed}});
  }
  json stranded = json::array();
  for (const Stranded& s : r.stranded) {
    const Host& h = c.hosts[static_cast<std::size_t>(s.host)];
    const Gpu& g = h.gpus[static_cast<std::size_t>(s.gpu)];
    stranded.push_back({{"host", h.name},
                        {"gpu", g.id},
                        {"carved", g.carved != nullptr ? json(g.carved->name) : json(nullptr)},
                        {"free_instances", s.free_instances},
                        {"stranded_mib", s.stranded_mib}});
  }
  return {{"summary",
           {{"vms", r.placed.size() + r.rejected.size()},
            {"placed", r.placed.size()},
            {"rejected", r.rejected.size()},
            {"gpus_used", r.gpus_used},
            {"gpus", gpus},
            {"hosts_used", r.hosts_used},
            {"hosts", c.hosts.size()}}},
          {"hosts", std::move(hosts)},
          {"placed", std::move(placed)},
          {"rejected", std::move(rejected)},
          {"bounds", std::move(bounds)},
          {"stranded", std::move(stranded)},
          {"free_by_type", r.free_by_type}};
}

}  // namespace gpufleet::planner
