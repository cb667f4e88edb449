#ifndef GPUFLEET_CONTROLLER_SECRETS_H_
#define GPUFLEET_CONTROLLER_SECRETS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/uuid.h"

namespace gpufleet::controller {

// The controller's cryptographic primitives (OpenSSL libcrypto). Pure and thread-safe, except that
// NewSecret draws from OpenSSL's CSPRNG.

// `prefix` followed by 256 random bits (RAND_bytes) in unpadded base64url: "gft_3q2-...". Fails
// with Internal when the CSPRNG cannot produce bytes.
absl::StatusOr<std::string> NewSecret(std::string_view prefix);

// SHA-256 of `text`, 64 lower-case hex digits: the only form in which secrets are stored.
[[nodiscard]] std::string Sha256Hex(std::string_view text);

// Equality of two strings of equal length in time independent of their contents
// (CRYPTO_memcmp); false at once for different lengths (which are public: hashes are 64 digits).
[[nodiscard]] bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Unpadded base64url (RFC 4648 section 5), and its inverse (nullopt-like error on bad input).
[[nodiscard]] std::string Base64UrlEncode(std::string_view bytes);
absl::StatusOr<std::string> Base64UrlDecode(std::string_view text);

// The mdev UUID of vGPU `index` of VM `vm`: a name-based UUID, RFC 4122 version 5 (SHA-1), over
// the fixed gpufleet namespace kVgpuNamespace and the name "<vm>/<index>". The same VM and index
// give the same UUID on every controller and after every restart, so an agent recreating the
// instance finds the one it made before.
[[nodiscard]] Uuid VgpuUuid(std::string_view vm, int index);

// 6f1c8a52-4b7e-5d2a-9c0e-67707566c0de: chosen once, never to change (it would rename every
// instance).
inline constexpr std::string_view kVgpuNamespace = "6f1c8a52-4b7e-5d2a-9c0e-67707566c0de";

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_SECRETS_H_
