#ifndef GPUFLEET_CORE_VERSION_H_
#define GPUFLEET_CORE_VERSION_H_

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gpufleet::core {

// An NVIDIA driver version such as "525.105.17" (Linux), "528.89" (Windows) or "525" (a driver
// branch). Components compare numerically, missing trailing components count as 0, so
// "460.106.00" == "460.106" and "525" < "525.60.13". The original text is kept for printing.
class DriverVersion {
 public:
  // 1 to 4 dot-separated decimal components of at most 6 digits each; anything else is an error
  // saying what was expected ("driver version 'r525': expected digits and dots like 525.105.17").
  static absl::StatusOr<DriverVersion> Parse(std::string_view text);

  [[nodiscard]] const std::string& ToString() const { return text_; }
  // The driver branch number: the first component (525 for 525.105.17).
  [[nodiscard]] int branch() const { return parts_.front(); }
  [[nodiscard]] const std::vector<int>& parts() const { return parts_; }

  friend std::strong_ordering operator<=>(const DriverVersion& a, const DriverVersion& b);
  friend bool operator==(const DriverVersion& a, const DriverVersion& b) {
    return (a <=> b) == std::strong_ordering::equal;
  }

 private:
  std::vector<int> parts_;
  std::string text_;
};

// An NVIDIA vGPU software release: "15.2" (major 15 = the release branch "15.x", minor 2).
// Parse also accepts a bare branch ("15" or "15.x"), which has no minor.
class ReleaseVersion {
 public:
  ReleaseVersion() = default;
  ReleaseVersion(int major, std::optional<int> minor) : major_(major), minor_(minor) {}
  static absl::StatusOr<ReleaseVersion> Parse(std::string_view text);

  [[nodiscard]] std::string ToString() const;
  [[nodiscard]] int major() const { return major_; }
  [[nodiscard]] const std::optional<int>& minor() const { return minor_; }
  [[nodiscard]] bool is_branch_only() const { return !minor_.has_value(); }

  friend std::strong_ordering operator<=>(const ReleaseVersion& a, const ReleaseVersion& b);
  friend bool operator==(const ReleaseVersion& a, const ReleaseVersion& b) = default;

 private:
  int major_ = 0;
  std::optional<int> minor_;
};

// A CUDA toolkit version: major.minor plus the update number that NVIDIA's tables spell
// "12.1 Update 1" and CUDA's own version strings spell "12.1.1". Accepted: "12.1", "12.1.1",
// "12.1 GA", "12.1 Update 1". Update 0 is the GA release.
class CudaVersion {
 public:
  CudaVersion() = default;
  CudaVersion(int major, int minor, int update) : major_(major), minor_(minor), update_(update) {}
  static absl::StatusOr<CudaVersion> Parse(std::string_view text);

  // "12.1" for GA, "12.1.1" for Update 1.
  [[nodiscard]] std::string ToString() const;
  [[nodiscard]] int major() const { return major_; }
  [[nodiscard]] int minor() const { return minor_; }
  [[nodiscard]] int update() const { return update_; }
  [[nodiscard]] bool SameMinor(const CudaVersion& o) const {
    return major_ == o.major_ && minor_ == o.minor_;
  }

  friend auto operator<=>(const CudaVersion&, const CudaVersion&) = default;

 private:
  int major_ = 0;
  int minor_ = 0;
  int update_ = 0;
};

// A calendar month, for end-of-support dates that NVIDIA publishes as "July 2026".
struct YearMonth {
  int year = 0;
  int month = 0;  // 1..12
  // "2026-07"; errors name the field.
  static absl::StatusOr<YearMonth> Parse(std::string_view text);
  [[nodiscard]] std::string ToString() const;
  friend auto operator<=>(const YearMonth&, const YearMonth&) = default;
};

// A calendar date without time zone, as the CLI's --today takes it ("2026-11-28").
struct CivilDate {
  int year = 0;
  int month = 0;
  int day = 0;
  static absl::StatusOr<CivilDate> Parse(std::string_view text);
  [[nodiscard]] std::string ToString() const;
  // True when this date lies after the last day of `ym`.
  [[nodiscard]] bool After(const YearMonth& ym) const;
  friend auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

}  // namespace gpufleet::core

#endif  // GPUFLEET_CORE_VERSION_H_
