#ifndef GPUFLEET_PLANNER_TESTING_H_
#define GPUFLEET_PLANNER_TESTING_H_

// Test helpers: build clusters in code from the embedded catalog.

#include <string>

#include "core/catalog.h"
#include "planner/model.h"

namespace gpufleet::planner::testing {

inline const core::Board& BoardNamed(std::string_view prefix) {
  return *core::Catalog::Embedded().FindBoard(prefix);
}

inline const core::VgpuType& TypeNamed(std::string_view name) {
  return *core::Catalog::Embedded().FindTypeByName(name);
}

// Adds a ready host with `gpus` unconfigured GPUs of `board`; returns its index.
inline int AddHost(Cluster& c, std::string name, std::string_view board, int gpus) {
  Host h;
  h.name = std::move(name);
  for (int i = 0; i < gpus; ++i) {
    Gpu g;
    g.id = "gpu" + std::to_string(i);
    g.board = &BoardNamed(board);
    h.gpus.push_back(std::move(g));
  }
  c.hosts.push_back(std::move(h));
  return static_cast<int>(c.hosts.size()) - 1;
}

// Appends a VM that needs `type`; returns its index.
inline int AddVm(Cluster& c, std::string name, std::string_view type, int vgpus = 1) {
  Vm vm;
  vm.name = std::move(name);
  vm.need.type = &TypeNamed(type);
  vm.vgpus = vgpus;
  c.vms.push_back(std::move(vm));
  return static_cast<int>(c.vms.size()) - 1;
}

}  // namespace gpufleet::planner::testing

#endif  // GPUFLEET_PLANNER_TESTING_H_
