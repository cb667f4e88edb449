#ifndef GPUFLEET_CORE_CATALOG_MODEL_H_
#define GPUFLEET_CORE_CATALOG_MODEL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/series.h"
#include "core/version.h"

namespace gpufleet::core {

// The typed vGPU catalog: facts from data/catalog/*.json. Every row carries the ids of its
// sources (see Source) and, where the facts were inferred rather than stated by a source, the
// names of the inferred fields. Plain data; Catalog owns and indexes it.

struct Source {
  std::string id;        // "VDM20"
  std::string citation;  // where the fact comes from, specific enough to check it
};

// Provenance shared by every row.
struct Provenance {
  std::vector<std::string> sources;          // Source ids, never empty
  std::vector<std::string> inferred_fields;  // empty when every field is stated by a source
  std::vector<std::string> notes;
  [[nodiscard]] bool inferred() const { return !inferred_fields.empty(); }
  [[nodiscard]] bool IsInferred(std::string_view field) const;
};

struct VgpuType {
  std::string name;  // NVIDIA's spelling, "P40-8Q"
  std::string board_prefix;
  Series series = Series::kQ;
  int framebuffer_mib = 0;
  int max_instances = 0;  // per physical GPU, equal-size mode
  bool mig_backed = false;
  std::optional<int> mig_slices;           // GPU instance size in compute slices (MIG-backed only)
  std::optional<std::string> mig_profile;  // "1g.10gb"
  std::optional<int> mdev_id;              // N in the sysfs mdev type "nvidia-N"
  std::optional<int> display_heads;
  std::optional<std::string> max_resolution;
  std::optional<int> frame_rate_limit_fps;
  bool cuda = false;
  Provenance provenance;
};

struct MigGeometry {
  int compute_slices = 7;
  int memory_slices = 8;
};

// Which vGPU software releases support a board, where known.
struct VgpuSupport {
  std::optional<ReleaseVersion> first_release;
  std::optional<int> last_branch;
  bool inferred = false;
  std::vector<std::string> sources;
};

struct Board {
  std::string name;                         // "Tesla P40"
  std::string prefix;                       // "P40": the type-name prefix
  std::vector<std::string> pci_device_ids;  // "0x1b38"
  std::string architecture;                 // "Pascal", "Ampere", ...
  int gpus_per_board = 1;
  int framebuffer_mib = 0;         // per physical GPU
  std::optional<bool> mixed_size;  // nullopt: not known
  std::optional<MigGeometry> mig;
  std::optional<bool> ecc_default;
  VgpuSupport support;
  Provenance provenance;
  std::vector<VgpuType> types;

  // Ampere and later name mdev types "NVIDIA <type>", earlier ones "GRID <type>".
  [[nodiscard]] bool UsesNvidiaSysfsPrefix() const;
};

// How a vGPU manager and a guest driver from different releases may be combined.
enum class HostGuestAllowance {
  kSameRelease,       // identical release
  kSameBranch,        // any two releases of one branch
  kPreviousBranch,    // manager from branch N, guest from branch N-1
  kPreviousLtsBranch  // manager from an LTS branch, guest from the previous LTS branch
};

struct ReleaseVersionRow {
  std::optional<ReleaseVersion> version;  // nullopt when no source names the release
  std::string label;                      // the source's own label
  std::optional<DriverVersion> vgpu_manager_kvm;
  std::optional<DriverVersion> guest_linux;
  std::optional<DriverVersion> guest_windows;
  Provenance provenance;
};

struct ReleaseBranch {
  int branch = 0;             // 15 for "15.x"
  std::string driver_branch;  // "R525"
  std::optional<bool> lts;
  std::optional<YearMonth> end_of_support;
  std::vector<std::string> end_of_support_sources;
  std::optional<CudaVersion> cuda;  // the toolkit whose driver the branch's guest driver matches
  std::optional<std::vector<HostGuestAllowance>> host_guest_policy;  // nullopt: not documented
  std::vector<std::string> host_guest_policy_sources;
  std::vector<std::string> hypervisors;
  std::vector<std::string> features;
  std::map<std::string, std::vector<std::string>> boards_added;
  std::optional<std::string> licensing;
  Provenance provenance;
  std::vector<ReleaseVersionRow> versions;
};

struct CudaToolkit {
  CudaVersion version;  // update included: 12.1 Update 1 -> 12.1.1
  std::string label;    // "12.1 Update 1"
  std::optional<DriverVersion> linux_min_driver;
  std::optional<DriverVersion> windows_min_driver;
  Provenance provenance;
};

// CUDA minor-version compatibility: toolkits of one major version run (with a reduced feature
// set) on any driver of that family at or above the minimum.
struct MinorVersionCompat {
  int major = 0;
  DriverVersion min_driver_linux;
  std::optional<DriverVersion> min_driver_windows;
  std::optional<int> below_branch;  // the family's drivers end below this branch
  Provenance provenance;
};

struct CudaVgpuSupport {
  std::vector<CudaVersion> supported;
  std::vector<CudaVersion> not_supported;
  std::vector<std::string> sources;
};

struct Edition {
  std::string id;  // "vWS", "vCS", "vPC", "vApps"
  std::string name;
  std::vector<std::string> former_names;
  Series primary_series = Series::kQ;
  std::vector<Series> licenses_series;
  int gridd_feature_type = 0;
  bool cuda = false;
  int max_displays = 0;
  std::string max_resolution;
  std::optional<int> frame_rate_limit_fps;
  Provenance provenance;
};

struct FeatureTypeMeaning {
  int value = 0;
  std::string meaning;
};

struct UnlicensedBehaviour {
  int frame_rate_fps = 0;
  bool cuda = false;
  std::string summary;
  std::vector<std::string> sources;
};

}  // namespace gpufleet::core

#endif  // GPUFLEET_CORE_CATALOG_MODEL_H_
