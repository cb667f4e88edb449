#ifndef GPUFLEET_CORE_SERIES_H_
#define GPUFLEET_CORE_SERIES_H_

#include <optional>
#include <string_view>

namespace gpufleet::core {

// The vGPU type series, the letter at the end of a type name: Q (virtual workstation), C
// (compute), B (virtual PC), A (virtual applications).
enum class Series { kQ, kC, kB, kA };

[[nodiscard]] char SeriesLetter(Series s);
[[nodiscard]] std::optional<Series> SeriesFromLetter(char c);  // case-insensitive
// "virtual workstation", "compute", ...: for explanations.
[[nodiscard]] std::string_view SeriesDescription(Series s);

}  // namespace gpufleet::core

#endif  // GPUFLEET_CORE_SERIES_H_
