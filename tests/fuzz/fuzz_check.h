#ifndef GPUFLEET_TESTS_FUZZ_FUZZ_CHECK_H_
#define GPUFLEET_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/strings.h"

namespace gpufleet::fuzz {

// Inputs longer than this are ignored: every parser rejects them long before, and short inputs
// keep the fuzzers fast.
inline constexpr std::size_t kMaxFuzzInput = 4096;

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  return {reinterpret_cast<const char*>(data), size};
}

// A property the fuzzer checks does not hold: says which and on what input, then aborts, which
// libFuzzer reports as a crash with a stack trace and saves the input.
[[noreturn]] inline void PropertyViolated(std::string_view property, std::string_view input) {
  std::string message =
      StrCat("fuzz property violated: ", property, "\n  input: ", QuoteForMessage(input, 400));
  std::fprintf(stderr, "%s\n", message.c_str());
  std::abort();
}

inline void Check(bool holds, std::string_view property, std::string_view input) {
  if (!holds) PropertyViolated(property, input);
}

}  // namespace gpufleet::fuzz

#endif  // GPUFLEET_TESTS_FUZZ_FUZZ_CHECK_H_
