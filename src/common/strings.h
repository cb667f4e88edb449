#ifndef GPUFLEET_COMMON_STRINGS_H_
#define GPUFLEET_COMMON_STRINGS_H_

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"

namespace gpufleet {

// String building over std::string_view. Debian's abseil is built with its own absl::string_view,
// which StrCat requires; these helpers accept both kinds of view, std::string, C strings,
// single chars and integers, so the rest of the code can use std::string_view throughout.
namespace strings_internal {
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <typename T>
requires std::integral<T> &&
    (!std::same_as<T, char>)&&(!std::same_as<T, bool>)void Append(std::string& out, T v) {
  out.append(std::to_string(v));
}
}  // namespace strings_internal

template <typename... Args>
[[nodiscard]] std::string StrCat(const Args&... args) {
  std::string out;
  (strings_internal::Append(out, args), ...);
  return out;
}

template <typename... Args>
void StrAppend(std::string* out, const Args&... args) {
  (strings_internal::Append(*out, args), ...);
}

[[nodiscard]] std::string StrJoin(const std::vector<std::string>& parts, std::string_view sep);
// Splits on every `sep`; "a,,b" gives three pieces, "" gives one empty piece.
[[nodiscard]] std::vector<std::string_view> StrSplit(std::string_view s, char sep);
// An absl::string_view (e.g. absl::Status::message()) as a std::string_view.
[[nodiscard]] inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }

// ASCII-only case mapping: identifiers in this project (type names, PCI addresses) are ASCII.
[[nodiscard]] std::string AsciiLower(std::string_view s);
[[nodiscard]] std::string AsciiUpper(std::string_view s);
[[nodiscard]] bool EqualsIgnoreCase(std::string_view a, std::string_view b);
[[nodiscard]] std::string_view StripAsciiWhitespace(std::string_view s);

// Parses a non-negative decimal integer that fits in `int` with no sign, spaces or leading '+'.
[[nodiscard]] std::optional<int> ParseNonNegativeInt(std::string_view s);

// Levenshtein distance, case-insensitive; used to suggest a known name for a misspelled one.
[[nodiscard]] std::size_t EditDistanceIgnoreCase(std::string_view a, std::string_view b);

// The candidate closest to `input`, or nullopt when none is close enough to be a plausible typo
// (distance greater than max(2, input.size() / 3)).
[[nodiscard]] std::optional<std::string> ClosestMatch(std::string_view input,
                                                      const std::vector<std::string>& candidates);

// Quotes a user-supplied string for an error message, escaping control characters and cutting it
// to `max_len` characters so that hostile input cannot flood a log or terminal.
[[nodiscard]] std::string QuoteForMessage(std::string_view s, std::size_t max_len = 80);

}  // namespace gpufleet

#endif  // GPUFLEET_COMMON_STRINGS_H_
