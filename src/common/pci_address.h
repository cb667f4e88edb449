#ifndef GPUFLEET_COMMON_PCI_ADDRESS_H_
#define GPUFLEET_COMMON_PCI_ADDRESS_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace gpufleet {

// A PCI function address, domain:bus:device.function, as sysfs and nvidia-smi print it
// ("0000:3b:00.0"). Parse also accepts the short "3b:00.0" form (domain 0) and upper-case hex;
// ToString always prints the canonical lower-case sysfs form.
class PciAddress {
 public:
  constexpr PciAddress() = default;
  constexpr PciAddress(uint32_t domain, uint8_t bus, uint8_t device, uint8_t function)
      : domain_(domain), bus_(bus), device_(device), function_(function) {}

  // Errors name the offending part: "PCI address '0000:3b:20.0': device 0x20 exceeds 0x1f".
  static absl::StatusOr<PciAddress> Parse(std::string_view text);

  [[nodiscard]] std::string ToString() const;
  [[nodiscard]] uint32_t domain() const { return domain_; }
  [[nodiscard]] uint8_t bus() const { return bus_; }
  [[nodiscard]] uint8_t device() const { return device_; }
  [[nodiscard]] uint8_t function() const { return function_; }

  friend auto operator<=>(const PciAddress&, const PciAddress&) = default;

 private:
  uint32_t domain_ = 0;
  uint8_t bus_ = 0;
  uint8_t device_ = 0;
  uint8_t function_ = 0;
};

}  // namespace gpufleet

#endif  // GPUFLEET_COMMON_PCI_ADDRESS_H_
