// Fuzzes the version and date parsers. Each parser gets the whole input and must round-trip what
// it accepts through ToString(); then the input is split in two (at the first newline, else in
// the middle) and every pair of values that parses is checked for a consistent ordering, also
// against a few fixed values so that transitivity is exercised.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "core/version.h"
#include "fuzz_check.h"

namespace gpufleet::core {
namespace {

using fuzz::Check;
using fuzz::PropertyViolated;

template <typename T>
std::optional<T> ParseOrNull(std::string_view text) {
  absl::StatusOr<T> parsed = T::Parse(text);
  if (!parsed.ok()) {
    Check(!parsed.status().message().empty(), "parse errors carry a message", text);
    return std::nullopt;
  }
  return *std::move(parsed);
}

template <typename T>
void CheckRoundTrip(const T& v, std::string_view what, std::string_view input) {
  const auto& printed = v.ToString();
  absl::StatusOr<T> again = T::Parse(printed);
  if (!again.ok()) {
    PropertyViolated(StrCat(what, "::Parse rejects its own ToString() '", printed,
                            "': ", again.status().message()),
                     input);
  }
  if (!(*again == v)) {
    PropertyViolated(StrCat(what, "::Parse('", printed, "') differs from the original"), input);
  }
}

// <, == and <=> agree with each other and are antisymmetric.
template <typename T>
void CheckOrdering(const T& a, const T& b, std::string_view what, std::string_view input) {
  auto fail = [&](std::string_view why) { PropertyViolated(StrCat(what, ": ", why), input); };
  // Self-comparison is the point here.
  if (!(a == a) || a < a || (a <=> a) != 0) {  // NOLINT(misc-redundant-expression)
    fail("a value is not equal to itself");
  }
  if (a < b && b < a) fail("a < b and b < a");
  if ((a == b) != (b == a)) fail("== is not symmetric");
  if ((a == b) != (!(a < b) && !(b < a))) fail("== disagrees with <");
  if ((a <=> b) != (0 <=> (b <=> a))) fail("a <=> b is not the reverse of b <=> a");
  if ((a < b) != ((a <=> b) < 0)) fail("< disagrees with <=>");
}

template <typename T>
void CheckTransitive(const T& a, const T& b, const T& c, std::string_view what,
                     std::string_view input) {
  if (a < b && b < c && !(a < c)) PropertyViolated(StrCat(what, ": < is not transitive"), input);
  if (a == b && b == c && !(a == c)) {
    PropertyViolated(StrCat(what, ": == is not transitive"), input);
  }
}

template <typename T>
std::vector<T> ParseAll(std::initializer_list<std::string_view> texts) {
  std::vector<T> out;
  for (std::string_view text : texts) {
    absl::StatusOr<T> v = T::Parse(text);
    if (!v.ok()) {
      PropertyViolated(StrCat("fixed value does not parse: ", v.status().message()), text);
    }
    out.push_back(*std::move(v));
  }
  return out;
}

// Parses both halves as T; checks their ordering, and transitivity through each fixed value.
template <typename T>
void CheckPair(std::string_view first, std::string_view second, const std::vector<T>& fixed,
               std::string_view what, std::string_view input) {
  std::optional<T> a = ParseOrNull<T>(first);
  std::optional<T> b = ParseOrNull<T>(second);
  for (const std::optional<T>& v : {a, b}) {
    if (!v) continue;
    for (const T& c : fixed) CheckOrdering(*v, c, what, input);
  }
  if (!a || !b) return;
  CheckOrdering(*a, *b, what, input);
  for (const T& c : fixed) {
    CheckTransitive(*a, *b, c, what, input);
    CheckTransitive(*b, *a, c, what, input);
    CheckTransitive(c, *a, *b, what, input);
    CheckTransitive(*a, c, *b, what, input);
  }
}

void CheckDriverVersion(std::string_view input) {
  std::optional<DriverVersion> v = ParseOrNull<DriverVersion>(input);
  if (!v) return;
  Check(*v == *v && (*v <=> *v) == 0,  // NOLINT(misc-redundant-expression): the point
        "DriverVersion equals itself", input);
  Check(v->ToString() == input, "DriverVersion keeps its original text", input);
  Check(!v->parts().empty() && v->parts().size() <= 4, "DriverVersion has 1 to 4 parts", input);
  Check(v->branch() == v->parts().front(), "branch() is the first part", input);
  for (int part : v->parts()) {
    Check(part >= 0 && part <= 999999, "DriverVersion parts have at most 6 digits", input);
  }
  CheckRoundTrip(*v, "DriverVersion", input);
  // Missing trailing components count as 0: "460.106" == "460.106.0" == "460.106.00".
  std::string canonical = StrCat(v->parts().front());
  for (std::size_t i = 1; i < v->parts().size(); ++i) StrAppend(&canonical, ".", v->parts()[i]);
  std::optional<DriverVersion> c = ParseOrNull<DriverVersion>(canonical);
  Check(c && *c == *v, "DriverVersion equals its parts printed without leading zeros", input);
  if (v->parts().size() < 4) {
    std::optional<DriverVersion> padded = ParseOrNull<DriverVersion>(StrCat(canonical, ".0"));
    Check(padded && *padded == *v, "a trailing .0 does not change a DriverVersion", input);
  }
}

void CheckReleaseVersion(std::string_view input) {
  std::optional<ReleaseVersion> v = ParseOrNull<ReleaseVersion>(input);
  if (!v) return;
  Check(v->major() >= 0 && v->minor().value_or(0) >= 0, "release numbers are non-negative", input);
  Check(v->is_branch_only() == !v->minor().has_value(), "is_branch_only() means no minor", input);
  CheckRoundTrip(*v, "ReleaseVersion", input);
}

void CheckCudaVersion(std::string_view input) {
  std::optional<CudaVersion> v = ParseOrNull<CudaVersion>(input);
  if (!v) return;
  Check(v->major() >= 0 && v->minor() >= 0 && v->update() >= 0,
        "CUDA version numbers are non-negative", input);
  CheckRoundTrip(*v, "CudaVersion", input);
  // NVIDIA's table spelling of the same version parses to the same value.
  std::string words = v->update() == 0
                          ? StrCat(v->major(), ".", v->minor(), " GA")
                          : StrCat(v->major(), ".", v->minor(), " Update ", v->update());
  std::optional<CudaVersion> from_words = ParseOrNull<CudaVersion>(words);
  if (v->update() <= 99) {
    Check(from_words && *from_words == *v, "CudaVersion parses its 'Update N' / 'GA' spelling",
          input);
  }
}

void CheckYearMonth(std::string_view input) {
  std::optional<YearMonth> v = ParseOrNull<YearMonth>(input);
  if (!v) return;
  Check(v->month >= 1 && v->month <= 12, "month is within 1..12", input);
  CheckRoundTrip(*v, "YearMonth", input);
}

void CheckCivilDate(std::string_view input) {
  std::optional<CivilDate> v = ParseOrNull<CivilDate>(input);
  if (!v) return;
  Check(v->month >= 1 && v->month <= 12 && v->day >= 1 && v->day <= 31, "date fields are in range",
        input);
  CheckRoundTrip(*v, "CivilDate", input);
  YearMonth own{v->year, v->month};
  Check(!v->After(own), "a date is not after its own month", input);
  YearMonth previous = v->month > 1 ? YearMonth{v->year, v->month - 1} : YearMonth{v->year - 1, 12};
  Check(v->After(previous), "a date is after the previous month", input);
}

void CheckPairs(std::string_view first, std::string_view second, std::string_view input) {
  static const auto* const kDrivers = new std::vector<DriverVersion>(
      ParseAll<DriverVersion>({"418.66", "460.106.00", "525", "525.60.13", "525.105.17"}));
  static const auto* const kReleases =
      new std::vector<ReleaseVersion>(ParseAll<ReleaseVersion>({"15", "15.0", "15.2", "16.x"}));
  static const auto* const kCudas =
      new std::vector<CudaVersion>(ParseAll<CudaVersion>({"11.8", "12.1", "12.1.1", "12.2"}));
  static const auto* const kMonths =
      new std::vector<YearMonth>(ParseAll<YearMonth>({"2024-02", "2026-07"}));
  static const auto* const kDates =
      new std::vector<CivilDate>(ParseAll<CivilDate>({"2024-02-29", "2026-11-28"}));
  CheckPair(first, second, *kDrivers, "DriverVersion", input);
  CheckPair(first, second, *kReleases, "ReleaseVersion", input);
  CheckPair(first, second, *kCudas, "CudaVersion", input);
  CheckPair(first, second, *kMonths, "YearMonth", input);
  CheckPair(first, second, *kDates, "CivilDate", input);

  // After() is monotonic in the date: a later date is after every month an earlier one is.
  std::optional<CivilDate> a = ParseOrNull<CivilDate>(first);
  std::optional<CivilDate> b = ParseOrNull<CivilDate>(second);
  if (a && b) {
    const CivilDate& early = *a < *b ? *a : *b;
    const CivilDate& late = *a < *b ? *b : *a;
    for (const YearMonth& ym : *kMonths) {
      Check(!early.After(ym) || late.After(ym), "CivilDate::After is monotonic", input);
    }
    for (const YearMonth& ym :
         {YearMonth{early.year, early.month}, YearMonth{late.year, late.month}}) {
      Check(!early.After(ym) || late.After(ym), "CivilDate::After is monotonic", input);
    }
  }
}

}  // namespace
}  // namespace gpufleet::core

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > gpufleet::fuzz::kMaxFuzzInput) return -1;
  std::string_view input = gpufleet::fuzz::AsText(data, size);
  gpufleet::core::CheckDriverVersion(input);
  gpufleet::core::CheckReleaseVersion(input);
  gpufleet::core::CheckCudaVersion(input);
  gpufleet::core::CheckYearMonth(input);
  gpufleet::core::CheckCivilDate(input);

  std::size_t split = input.find('\n');
  std::string_view first =
      split == std::string_view::npos ? input.substr(0, size / 2) : input.substr(0, split);
  std::string_view second =
      split == std::string_view::npos ? input.substr(size / 2) : input.substr(split + 1);
  gpufleet::core::CheckPairs(first, second, input);
  return 0;
}
