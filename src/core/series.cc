#include "core/series.h"

namespace gpufleet::core {

char SeriesLetter(Series s) {
  switch (s) {
    case Series::kQ:
      return 'Q';
    case Series::kC:
      return 'C';
    case Series::kB:
      return 'B';
    case Series::kA:
      return 'A';
  }
  return '?';
}

std::optional<Series> SeriesFromLetter(char c) {
  switch (c) {
    case 'Q':
    case 'q':
      return Series::kQ;
    case 'C':
    case 'c':
      return Series::kC;
    case 'B':
    case 'b':
      return Series::kB;
    case 'A':
    case 'a':
      return Series::kA;
    default:
      return std::nullopt;
  }
}

std::string_view SeriesDescription(Series s) {
  switch (s) {
    case Series::kQ:
      return "virtual workstation";
    case Series::kC:
      return "compute";
    case Series::kB:
      return "virtual PC";
    case Series::kA:
      return "virtual applications";
  }
  return "unknown";
}

}  // namespace gpufleet::core
