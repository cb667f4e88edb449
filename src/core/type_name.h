#ifndef GPUFLEET_CORE_TYPE_NAME_H_
#define GPUFLEET_CORE_TYPE_NAME_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/series.h"

namespace gpufleet::core {

// The structure of an NVIDIA vGPU type name, whatever spelling it came in:
//   time-sliced  <board>-<GB><series>[<variant>]          P40-8Q, A16-4Q, P40-1B4, RTX6000-Ada-8Q
//   MIG-backed   <board>-<slices>-<GB><series>[<suffix>]  A100D-3-40C, H100-1-10CME
// GB 0 means 512 MiB (M60-0Q). The board prefix may itself contain '-' (RTX6000-Ada).
struct TypeName {
  std::string board_prefix;                // as written by NVIDIA, e.g. "P40", "RTX6000-Ada"
  std::optional<int> gpu_instance_slices;  // MIG-backed types only
  int framebuffer_gb = 0;
  Series series = Series::kQ;
  std::string variant;  // "" or the suffix after the series letter: "4" (B4), "ME", "NOME", ...

  [[nodiscard]] bool mig_backed() const { return gpu_instance_slices.has_value(); }
  [[nodiscard]] int framebuffer_mib() const {
    return framebuffer_gb == 0 ? 512 : framebuffer_gb * 1024;
  }
  // NVIDIA's spelling, with the board prefix as given: "A100D-3-40C".
  [[nodiscard]] std::string ToString() const;
  // VMware vSphere profile name: "grid_a100d-3-40c".
  [[nodiscard]] std::string VmwareProfile() const;
  // The sysfs mdev `name` attribute: "GRID P40-8Q" before Ampere, "NVIDIA A40-8Q" from Ampere on.
  [[nodiscard]] std::string SysfsName(bool ampere_or_later) const;

  friend bool operator==(const TypeName&, const TypeName&) = default;
};

// Parses any spelling that names a type: NVIDIA ("P40-8Q"), VMware ("grid_p40-8q"), or the sysfs
// name attribute ("GRID P40-8Q", "NVIDIA A40-8Q"). Case-insensitive; the board prefix keeps the
// input's case (the catalog resolves it). Errors say what was expected and where it went wrong.
absl::StatusOr<TypeName> ParseTypeName(std::string_view spelling);

// Parses an mdev type id, "nvidia-63" (the vgpuType id from vgpuConfig.xml), into 63.
absl::StatusOr<int> ParseMdevTypeId(std::string_view text);
[[nodiscard]] bool LooksLikeMdevTypeId(std::string_view text);

// The sysfs mdev `description` attribute:
//   "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=3"
// framebuffer and max_instance are required; unknown keys are kept in `extra` so that newer
// drivers do not break parsing; duplicate keys and malformed values are errors naming the key.
struct MdevDescription {
  std::optional<int> num_heads;
  std::optional<int> frl_config;  // frame-rate limit, fps
  int framebuffer_mib = 0;
  std::optional<std::string> max_resolution;
  int max_instance = 0;
  std::vector<std::pair<std::string, std::string>> extra;

  [[nodiscard]] std::string ToString() const;
  friend bool operator==(const MdevDescription&, const MdevDescription&) = default;
};
absl::StatusOr<MdevDescription> ParseMdevDescription(std::string_view text);
[[nodiscard]] bool LooksLikeMdevDescription(std::string_view text);

// Upper bound on any spelling we accept; longer input is rejected before parsing.
inline constexpr std::size_t kMaxTypeSpellingLength = 512;

}  // namespace gpufleet::core

#endif  // GPUFLEET_CORE_TYPE_NAME_H_
