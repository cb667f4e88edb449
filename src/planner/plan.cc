#include <algorithm>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include "common/strings.h"
#include "planner/capacity.h"
#include "planner/placer.h"

namespace gpufleet::planner {
namespace {

int CeilDiv(int a, int b) { return (a + b - 1) / b; }

const MixedSizeGeometry& Geometry(const Cluster& cluster, const core::Board& board) {
  static const MixedSizeGeometry kDefault;
  auto it = cluster.mixed_size.find(board.prefix);
  return it == cluster.mixed_size.end() ? kDefault : it->second;
}

// Planning order: VMs that are hardest to place first (more vGPUs, bigger framebuffer), exact
// types grouped so that each carving fills before the next GPU opens; ties by input order.
std::vector<int> Order(const Cluster& cluster, const std::vector<int>& vms) {
  // The keys are computed once: comparing names inside the sort dominated large plans.
  using Key = std::tuple<int, int, std::string_view, int>;
  std::vector<Key> keys;
  keys.reserve(vms.size());
  for (int i : vms) {
    const Vm& vm = cluster.vms[static_cast<std::size_t>(i)];
    const int fb = vm.need.passthrough ? 1 << 30
                   : vm.need.type      ? vm.need.type->framebuffer_mib
                                       : vm.need.min_framebuffer_mib;
    keys.emplace_back(-vm.vgpus, -fb, vm.need.type ? std::string_view(vm.need.type->name) : "", i);
  }
  std::sort(keys.begin(), keys.end());  // the VM index makes every key distinct: stable
  std::vector<int> out;
  out.reserve(keys.size());
  for (const Key& k : keys) out.push_back(std::get<3>(k));
  return out;
}

// Identical requirements (with their vGPU count) form a group of m VMs. Each group is pinned to
// the exact type that holds the whole group on the fewest GPUs, ceil(m / max per GPU), among the
// boards the cluster has (ties: the smaller type, then catalog order): a requirement that fits
// a T4 (T4-16Q, 1 per GPU) or an A40 (A40-16Q, 3 per GPU) then leaves the T4s to the VMs that
// can only run there. Returns the requirements to restore after planning, per VM.
std::map<int, Requirement> PinRequirements(Cluster& c, const std::vector<int>& vms) {
  using Key = std::tuple<int, bool, std::optional<core::Series>, std::vector<const core::Board*>,
                         bool, int>;
  std::map<Key, std::vector<int>> groups;
  for (int vm : vms) {
    const Vm& v = c.vms[static_cast<std::size_t>(vm)];
    if (v.need.type != nullptr || v.need.passthrough) continue;
    groups[{v.need.min_framebuffer_mib, v.need.cuda, v.need.series, v.need.boards, v.need.mig,
            v.vgpus}]
        .push_back(vm);
  }
  std::vector<const core::Board*> boards;
  for (const Host& host : c.hosts) {
    for (const Gpu& gpu : host.gpus) {
      if (gpu.board && std::find(boards.begin(), boards.end(), gpu.board) == boards.end()) {
        boards.push_back(gpu.board);
      }
    }
  }
  std::map<int, Requirement> restore;
  for (const auto& [key, members] : groups) {
    const Requirement& need = c.vms[static_cast<std::size_t>(members.front())].need;
    const int m = static_cast<int>(members.size());
    const core::VgpuType* best = nullptr;
    std::tuple<int, int> best_key;
    for (const core::Board* board : boards) {
      for (const core::VgpuType* type : CandidateTypes(need, *board, need.mig)) {
        if (type->max_instances <= 0) continue;
        const std::tuple<int, int> k{CeilDiv(m, type->max_instances), type->framebuffer_mib};
        if (best == nullptr || k < best_key) {
          best = type;
          best_key = k;
        }
      }
    }
    if (best == nullptr) continue;
    for (int vm : members) {
      Requirement& r = c.vms[static_cast<std::size_t>(vm)].need;
      restore.emplace(vm, r);
      Requirement exact;
      exact.type = best;
      r = exact;
    }
  }
  return restore;
}

}  // namespace

PlanResult Plan(const Cluster& input, const std::vector<int>& demand, const PlanOptions& options) {
  return Plan(Cluster(input), demand, options);
}

PlanResult Plan(Cluster&& input, const std::vector<int>& demand, const PlanOptions& options) {
  PlanResult result;
  result.cluster = std::move(input);
  Cluster& c = result.cluster;
  std::vector<int> todo = demand;
  if (options.from_scratch) {
    // Every VM of the cluster is planned again on empty GPUs.
    std::set<int> all(demand.begin(), demand.end());
    for (const auto& [vm, loc] : Locate(c)) all.insert(vm);
    for (Host& host : c.hosts) {
      for (Gpu& gpu : host.gpus) {
        gpu.instances.clear();
        gpu.passthrough_vm = -1;
        gpu.carved = nullptr;
        if (gpu.mode != GpuMode::kMig && gpu.mode != GpuMode::kMixedSize) {
          gpu.mode = GpuMode::kUnconfigured;
        }
      }
    }
    todo.assign(all.begin(), all.end());
  }
  internal::Placer placer(c, options.place);
  placer.set_explain_placements(false);
  // VMs that give a requirement are planned as the exact type their group packs best; one that
  // finds no place that way falls back to its requirement.
  const std::map<int, Requirement> flexible = PinRequirements(c, todo);
  // The assignments land in VM order as they are made: each VM of the demand has its slot (its
  // rank among the demand's VMs), and the slots of rejected VMs are dropped at the end. Sorting
  // or re-bucketing hundreds of thousands of assignments cost more than producing them.
  std::vector<int> rank(c.vms.size(), -1);
  for (int vm : todo) rank[static_cast<std::size_t>(vm)] = 0;
  int slots = 0;
  for (int& r : rank) {
    if (r == 0) r = slots++;
  }
  result.placed.resize(static_cast<std::size_t>(slots));
  for (int vm : Order(c, todo)) {
    Decision d = placer.Decide(c, vm);
    auto pinned = flexible.find(vm);
    if (pinned != flexible.end()) {
      c.vms[static_cast<std::size_t>(vm)].need = pinned->second;
      if (!d.assignment) d = placer.Decide(c, vm);
    }
    if (!d.assignment) {
      result.rejected.push_back({vm, std::move(d.explanation)});
      continue;
    }
    placer.Commit(c, *d.assignment);
    result.placed[static_cast<std::size_t>(rank[static_cast<std::size_t>(vm)])] =
        *std::move(d.assignment);
  }
  std::erase_if(result.placed, [](const Assignment& a) { return a.vm < 0; });
  std::sort(result.rejected.begin(), result.rejected.end(),
            [](const Rejection& a, const Rejection& b) { return a.vm < b.vm; });

  std::vector<char> counted(c.vms.size(), 0);
  for (int vm : todo) counted[static_cast<std::size_t>(vm)] = 1;
  for (std::size_t vm = 0; vm < c.vms.size(); ++vm) {
    if (placer.LocationOf(static_cast<int>(vm)).host >= 0) counted[vm] = 1;
  }
  std::vector<int> bound_vms;
  for (std::size_t vm = 0; vm < counted.size(); ++vm) {
    if (counted[vm]) bound_vms.push_back(static_cast<int>(vm));
  }
  result.bounds = LowerBounds(c, bound_vms);
  std::map<std::string, int> used_by_board;
  for (std::size_t h = 0; h < c.hosts.size(); ++h) {
    bool host_used = false;
    for (std::size_t g = 0; g < c.hosts[h].gpus.size(); ++g) {
      const Gpu& gpu = c.hosts[h].gpus[g];
      const bool used = !gpu.instances.empty() || gpu.passthrough_vm >= 0;
      if (!used) continue;
      host_used = true;
      ++result.gpus_used;
      ++used_by_board[gpu.board->prefix];
      if (gpu.mode == GpuMode::kEqualSize && gpu.carved != nullptr) {
        const int free = FreeCount(gpu, *gpu.carved, Geometry(c, *gpu.board));
        result.free_by_type[gpu.carved->name] += free;
        const int stranded =
            gpu.board->framebuffer_mib - gpu.carved->max_instances * gpu.carved->framebuffer_mib;
        if (free > 0 || stranded > 0) {
          result.stranded.push_back({static_cast<int>(h), static_cast<int>(g), free,
                                     std::max(0, stranded) + free * gpu.carved->framebuffer_mib});
        }
      }
    }
    result.hosts_used += host_used;
  }
  for (BoardBound& b : result.bounds) b.gpus_used = used_by_board[b.board];
  return result;
}

std::vector<BoardBound> LowerBounds(const Cluster& cluster, const std::vector<int>& vms) {
  // Per board: instance counts per exact type, MIG slice totals, pass-through GPUs.
  struct Tally {
    std::map<const core::VgpuType*, int> types;
    int mig_compute = 0, mig_memory = 0, passthrough = 0;
    // Instances on mixed-size GPUs: their slots, and their counts per type.
    int mixed_slots = 0, mixed_slots_per_gpu = 0;
    std::map<const core::VgpuType*, int> mixed_types;
    const core::Board* board = nullptr;
  };
  std::map<std::string, Tally> by_board;
  // Tallies by board pointer through a short list (a fleet has a few boards): looking the prefix
  // up in the map for every VM dominated large plans.
  std::vector<std::pair<const core::Board*, Tally*>> tally_of;
  auto tally_for = [&](const core::Board* board) -> Tally& {
    for (const auto& [b, t] : tally_of) {
      if (b == board) return *t;
    }
    Tally& t = by_board[board->prefix];
    t.board = board;
    tally_of.emplace_back(board, &t);
    return t;
  };
  // One pass over the GPUs for the placed VMs of the set, then the unplaced ones.
  std::vector<char> in_set(cluster.vms.size(), 0), placed(cluster.vms.size(), 0);
  for (int vm : vms) in_set[static_cast<std::size_t>(vm)] = 1;
  auto member = [&](int vm) {
    return vm >= 0 && static_cast<std::size_t>(vm) < in_set.size() &&
           in_set[static_cast<std::size_t>(vm)];
  };
  for (const Host& host : cluster.hosts) {
    for (const Gpu& gpu : host.gpus) {
      if (gpu.board == nullptr) continue;
      if (gpu.mode == GpuMode::kPassthrough && member(gpu.passthrough_vm)) {
        ++tally_for(gpu.board).passthrough;
        placed[static_cast<std::size_t>(gpu.passthrough_vm)] = 1;
      }
      for (const Instance& i : gpu.instances) {
        if (!member(i.vm)) continue;
        placed[static_cast<std::size_t>(i.vm)] = 1;
        Tally& t = tally_for(gpu.board);
        if (gpu.mode == GpuMode::kMixedSize) {
          const MixedSizeGeometry& geo = Geometry(cluster, *gpu.board);
          t.mixed_slots += MixedSizeSlots(*i.type, geo);
          t.mixed_slots_per_gpu = MixedSizeTotalSlots(*gpu.board, geo);
          ++t.mixed_types[i.type];
          continue;
        }
        if (i.type->mig_backed) {
          t.mig_compute += i.type->mig_slices.value_or(0);
          t.mig_memory += MigMemorySpan(*gpu.board, *i.type);
        }
        ++t.types[i.type];
      }
    }
  }
  for (int vm_index : vms) {
    const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
    if (placed[static_cast<std::size_t>(vm_index)]) continue;
    if (vm.need.type == nullptr || vm.need.passthrough) continue;
    const core::Board* board = core::Catalog::Embedded().FindBoard(vm.need.type->board_prefix);
    if (cluster.catalog != nullptr) board = cluster.catalog->FindBoard(vm.need.type->board_prefix);
    if (board == nullptr) continue;
    Tally& t = tally_for(board);
    t.types[vm.need.type] += vm.vgpus;
    if (vm.need.type->mig_backed) {
      t.mig_compute += vm.vgpus * vm.need.type->mig_slices.value_or(0);
      t.mig_memory += vm.vgpus * MigMemorySpan(*board, *vm.need.type);
    }
  }
  std::vector<BoardBound> out;
  for (const auto& [prefix, t] : by_board) {
    int equal = 0, mig_floor = 0;
    for (const auto& [type, n] : t.types) {
      if (type->mig_backed) {
        mig_floor = std::max(mig_floor, CeilDiv(n, type->max_instances));
      } else {
        equal += CeilDiv(n, type->max_instances);
      }
    }
    int mig = 0;
    if (t.board->mig && (t.mig_compute > 0 || t.mig_memory > 0)) {
      mig = std::max({mig_floor, CeilDiv(t.mig_compute, t.board->mig->compute_slices),
                      CeilDiv(t.mig_memory, t.board->mig->memory_slices)});
    }
    // Mixed-size: types share GPUs, so the bound is the slots over a GPU's slots (or a type's
    // own maximum per GPU, when that binds harder).
    int mixed = 0;
    if (t.mixed_slots > 0 && t.mixed_slots_per_gpu > 0) {
      mixed = CeilDiv(t.mixed_slots, t.mixed_slots_per_gpu);
      for (const auto& [type, n] : t.mixed_types) {
        mixed = std::max(mixed, CeilDiv(n, type->max_instances));
      }
    }
    out.push_back({prefix, equal + mig + mixed + t.passthrough, 0});
  }
  return out;
}

std::vector<std::string> Violations(const Cluster& cluster) {
  std::vector<std::string> out;
  std::map<int, std::set<std::string>> vm_hosts;
  std::map<std::string, std::set<std::string>> group_hosts;
  std::map<int, int> vm_gpus;
  std::map<int, const core::VgpuType*> vm_family;  // the first vGPU's type, per VM
  for (const Host& host : cluster.hosts) {
    int cpus = 0, memory = 0;
    std::set<int> on_host;
    for (const Gpu& gpu : host.gpus) {
      const std::string where = StrCat(host.name, "/", gpu.id);
      std::set<int> on_gpu;
      std::map<const core::VgpuType*, int> count;
      int compute = 0;
      for (const Instance& i : gpu.instances) {
        if (!EqualsIgnoreCase(i.type->board_prefix, gpu.board->prefix)) {
          out.push_back(StrCat(where, ": ", i.type->name, " on a ", gpu.board->prefix));
        }
        // NVIDIA's multi-vGPU: one board and one series per VM.
        if (auto [it, first] = vm_family.try_emplace(i.vm, i.type);
            !first && (it->second->series != i.type->series ||
                       !EqualsIgnoreCase(it->second->board_prefix, i.type->board_prefix))) {
          out.push_back(StrCat(cluster.vms[static_cast<std::size_t>(i.vm)].name, ": vGPUs ",
                               it->second->name, " and ", i.type->name,
                               " (one VM's vGPUs share a board and a series)"));
        }
        if (!on_gpu.insert(i.vm).second) {
          out.push_back(StrCat(where, ": ", cluster.vms[static_cast<std::size_t>(i.vm)].name,
                               " has two vGPUs on one GPU"));
        }
        ++count[i.type];
        compute += i.type->mig_slices.value_or(0);
        on_host.insert(i.vm);
      }
      for (const auto& [type, n] : count) {
        if (n > type->max_instances) {
          out.push_back(StrCat(where, ": ", n, " x ", type->name, " > max ", type->max_instances));
        }
      }
      switch (gpu.mode) {
        case GpuMode::kUnconfigured:
          if (!gpu.instances.empty())
            out.push_back(StrCat(where, ": instances on an unconfigured GPU"));
          break;
        case GpuMode::kEqualSize:
          if (count.size() > 1 || (!count.empty() && count.begin()->first != gpu.carved)) {
            out.push_back(StrCat(where, ": equal-size GPU holds a type other than its carving"));
          }
          break;
        case GpuMode::kMig: {
          if (!gpu.board->mig && !gpu.instances.empty()) {
            out.push_back(StrCat(where, ": MIG mode on a board without MIG"));
            break;
          }
          if (gpu.board->mig && compute > gpu.board->mig->compute_slices) {
            out.push_back(StrCat(where, ": ", compute, " compute slices in use"));
          }
          std::vector<int> memory_use(8, 0);
          for (const Instance& i : gpu.instances) {
            const std::vector<int> starts = MigStarts(*gpu.board, *i.type);
            if (!i.type->mig_backed ||
                std::find(starts.begin(), starts.end(), i.placement) == starts.end()) {
              out.push_back(
                  StrCat(where, ": ", i.type->name, " at invalid MIG start ", i.placement));
              continue;
            }
            for (int s = i.placement; s < i.placement + MigMemorySpan(*gpu.board, *i.type); ++s) {
              if (++memory_use[static_cast<std::size_t>(s)] > 1) {
                out.push_back(StrCat(where, ": MIG memory slice ", s, " used twice"));
              }
            }
          }
          break;
        }
        case GpuMode::kMixedSize: {
          const MixedSizeGeometry& geo = Geometry(cluster, *gpu.board);
          const int total = MixedSizeTotalSlots(*gpu.board, geo);
          std::vector<int> use(static_cast<std::size_t>(std::max(total, 0)), 0);
          for (const Instance& i : gpu.instances) {
            const int size = MixedSizeSlots(*i.type, geo);
            if (i.type->mig_backed || i.placement < 0 || i.placement % size != 0 ||
                i.placement + size > total) {
              out.push_back(
                  StrCat(where, ": ", i.type->name, " at invalid placement ", i.placement));
              continue;
            }
            for (int s = i.placement; s < i.placement + size; ++s) {
              if (++use[static_cast<std::size_t>(s)] > 1) {
                out.push_back(StrCat(where, ": slot ", s, " used twice"));
              }
            }
          }
          break;
        }
        case GpuMode::kPassthrough:
          if (!gpu.instances.empty()) out.push_back(StrCat(where, ": vGPUs on a pass-through GPU"));
          if (gpu.passthrough_vm >= 0) on_host.insert(gpu.passthrough_vm);
          break;
      }
      for (int vm : on_gpu) ++vm_gpus[vm];
      if (gpu.passthrough_vm >= 0) ++vm_gpus[gpu.passthrough_vm];
    }
    for (int vm : on_host) {
      const Vm& v = cluster.vms[static_cast<std::size_t>(vm)];
      vm_hosts[vm].insert(host.name);
      cpus += v.cpus;
      memory += v.memory_gib;
      if (!v.anti_affinity.empty() && !group_hosts[v.anti_affinity].insert(host.name).second) {
        out.push_back(StrCat(host.name, ": two VMs of anti-affinity group ", v.anti_affinity));
      }
    }
    if (host.cpus && cpus > *host.cpus) out.push_back(StrCat(host.name, ": CPUs over capacity"));
    if (host.memory_gib && memory > *host.memory_gib) {
      out.push_back(StrCat(host.name, ": memory over capacity"));
    }
  }
  // License seats: one per placed VM, in the VM's edition (or its type's series' edition).
  const core::Catalog& catalog = cluster.catalog ? *cluster.catalog : core::Catalog::Embedded();
  std::map<std::string, int> seats;
  for (const auto& [vm, loc] : Locate(cluster)) {
    const Vm& v = cluster.vms[static_cast<std::size_t>(vm)];
    std::string edition = v.license;
    if (edition.empty()) {
      const Gpu& gpu = cluster.hosts[static_cast<std::size_t>(loc.host)]
                           .gpus[static_cast<std::size_t>(loc.gpus.front())];
      const core::VgpuType* type = nullptr;
      for (const Instance& i : gpu.instances) {
        if (i.vm == vm) type = i.type;
      }
      const core::Edition* e = type ? catalog.EditionForSeries(type->series) : nullptr;
      edition = e ? e->id : "vWS";
    }
    ++seats[edition];
  }
  for (const auto& [edition, limit] : cluster.license_seats) {
    if (seats[edition] > limit) {
      out.push_back(
          StrCat(seats[edition], " VMs use ", edition, " licenses; only ", limit, " seats"));
    }
  }
  for (const auto& [vm, hosts] : vm_hosts) {
    const Vm& v = cluster.vms[static_cast<std::size_t>(vm)];
    if (hosts.size() > 1) out.push_back(StrCat(v.name, ": vGPUs on more than one host"));
    if (vm_gpus[vm] != v.vgpus) {
      out.push_back(StrCat(v.name, ": ", vm_gpus[vm], " GPUs for ", v.vgpus, " vGPUs"));
    }
  }
  return out;
}

}  // namespace gpufleet::planner
