#include "common/pci_address.h"

#include <cstdio>
#include <optional>

#include "absl/status/status.h"
#include "common/strings.h"

namespace gpufleet {
namespace {

std::optional<uint32_t> ParseHex(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    v = v * 16 + d;
  }
  return v;
}

}  // namespace

absl::StatusOr<PciAddress> PciAddress::Parse(std::string_view text) {
  const std::string quoted = QuoteForMessage(text);
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("PCI address ", quoted, ": ", why,
               " (expected domain:bus:device.function, e.g. 0000:3b:00.0)"));
  };
  std::size_t dot = text.rfind('.');
  if (dot == std::string_view::npos) return fail("missing '.function'");
  std::string_view head = text.substr(0, dot);
  std::string_view func_text = text.substr(dot + 1);
  std::size_t c2 = head.rfind(':');
  if (c2 == std::string_view::npos) return fail("missing ':' before the device");
  std::string_view dev_text = head.substr(c2 + 1);
  std::string_view rest = head.substr(0, c2);
  std::string_view bus_text = rest;
  std::string_view dom_text = "0";
  if (std::size_t c1 = rest.rfind(':'); c1 != std::string_view::npos) {
    bus_text = rest.substr(c1 + 1);
    dom_text = rest.substr(0, c1);
  }
  auto domain = ParseHex(dom_text, 8);
  if (!domain) return fail("domain is not 1-8 hex digits");
  auto bus = ParseHex(bus_text, 2);
  if (!bus) return fail("bus is not 1-2 hex digits");
  auto dev = ParseHex(dev_text, 2);
  if (!dev) return fail("device is not 1-2 hex digits");
  if (*dev > 0x1f) return fail("device exceeds 0x1f");
  auto func = ParseHex(func_text, 1);
  if (!func) return fail("function is not one hex digit");
  if (*func > 7) return fail("function exceeds 7");
  return PciAddress(*domain, static_cast<uint8_t>(*bus), static_cast<uint8_t>(*dev),
                    static_cast<uint8_t>(*func));
}

std::string PciAddress::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", domain_, bus_, device_, function_);
  return buf;
}

}  // namespace gpufleet
