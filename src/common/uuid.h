#ifndef GPUFLEET_COMMON_UUID_H_
#define GPUFLEET_COMMON_UUID_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace gpufleet {

// A 128-bit UUID as used for mdev devices and vGPU instances ("c0ffee00-...-...").
class Uuid {
 public:
  constexpr Uuid() = default;
  explicit constexpr Uuid(const std::array<uint8_t, 16>& bytes) : bytes_(bytes) {}

  // Accepts the 8-4-4-4-12 hex form in either case; anything else is an error naming the input.
  static absl::StatusOr<Uuid> Parse(std::string_view text);

  // Lower-case 8-4-4-4-12 form, as mdevctl and sysfs print it.
  [[nodiscard]] std::string ToString() const;
  [[nodiscard]] const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  [[nodiscard]] bool is_nil() const;

  friend auto operator<=>(const Uuid&, const Uuid&) = default;

 private:
  std::array<uint8_t, 16> bytes_{};
};

}  // namespace gpufleet

#endif  // GPUFLEET_COMMON_UUID_H_
