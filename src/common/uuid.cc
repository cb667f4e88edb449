#include "common/uuid.h"

#include "absl/status/status.h"
#include "common/strings.h"

namespace gpufleet {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<Uuid> Uuid::Parse(std::string_view text) {
  constexpr std::size_t kLen = 36;
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("UUID ", QuoteForMessage(text), ": ", why, " (expected 8-4-4-4-12 hex digits)"));
  };
  if (text.size() != kLen) return fail(StrCat("length ", text.size(), ", expected 36"));
  std::array<uint8_t, 16> bytes{};
  std::size_t b = 0;
  for (std::size_t i = 0; i < kLen;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return fail(StrCat("expected '-' at position ", i + 1));
      ++i;
      continue;
    }
    int hi = HexValue(text[i]);
    int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return fail(StrCat("non-hex digit near position ", i + 1));
    bytes[b++] = static_cast<uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return Uuid(bytes);
}

std::string Uuid::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes_.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes_[i] >> 4];
    out += kHex[bytes_[i] & 0xf];
  }
  return out;
}

bool Uuid::is_nil() const {
  for (uint8_t b : bytes_) {
    if (b != 0) return false;
  }
  return true;
}

}  // namespace gpufleet
