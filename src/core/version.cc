#include "core/version.h"

#include <cstdio>

#include "absl/status/status.h"
#include "common/strings.h"

namespace gpufleet::core {
namespace {

constexpr std::size_t kMaxInput = 64;

absl::Status Invalid(std::string_view what, std::string_view text, std::string_view expected) {
  return absl::InvalidArgumentError(
      StrCat(what, " ", QuoteForMessage(text), ": expected ", expected));
}

// Parses "a.b.c" into at most `max_parts` numbers of at most `max_digits` digits.
std::optional<std::vector<int>> ParseDotted(std::string_view text, std::size_t max_parts,
                                            std::size_t max_digits) {
  if (text.empty() || text.size() > kMaxInput) return std::nullopt;
  std::vector<int> parts;
  for (std::string_view piece : StrSplit(text, '.')) {
    if (piece.size() > max_digits) return std::nullopt;
    std::optional<int> v = ParseNonNegativeInt(piece);
    if (!v) return std::nullopt;
    parts.push_back(*v);
    if (parts.size() > max_parts) return std::nullopt;
  }
  return parts;
}

}  // namespace

absl::StatusOr<DriverVersion> DriverVersion::Parse(std::string_view text) {
  auto parts = ParseDotted(text, 4, 6);
  if (!parts) {
    return Invalid("driver version", text, "1 to 4 numbers separated by dots, like 525.105.17");
  }
  DriverVersion v;
  v.parts_ = std::move(*parts);
  v.text_ = std::string(text);
  return v;
}

std::strong_ordering operator<=>(const DriverVersion& a, const DriverVersion& b) {
  std::size_t n = std::max(a.parts_.size(), b.parts_.size());
  for (std::size_t i = 0; i < n; ++i) {
    int x = i < a.parts_.size() ? a.parts_[i] : 0;
    int y = i < b.parts_.size() ? b.parts_[i] : 0;
    if (x != y) return x <=> y;
  }
  return std::strong_ordering::equal;
}

absl::StatusOr<ReleaseVersion> ReleaseVersion::Parse(std::string_view text) {
  std::string_view t = StripAsciiWhitespace(text);
  if (t.size() >= 2 && (t.ends_with(".x") || t.ends_with(".X"))) t.remove_suffix(2);
  auto parts = ParseDotted(t, 2, 3);
  if (!parts) {
    return Invalid("vGPU software release", text, "a release like 15.2 or a branch like 15 / 15.x");
  }
  return ReleaseVersion((*parts)[0],
                        parts->size() == 2 ? std::optional<int>((*parts)[1]) : std::nullopt);
}

std::string ReleaseVersion::ToString() const {
  return minor_ ? StrCat(major_, ".", *minor_) : StrCat(major_, ".x");
}

std::strong_ordering operator<=>(const ReleaseVersion& a, const ReleaseVersion& b) {
  if (a.major_ != b.major_) return a.major_ <=> b.major_;
  return a.minor_.value_or(-1) <=> b.minor_.value_or(-1);
}

absl::StatusOr<CudaVersion> CudaVersion::Parse(std::string_view text) {
  constexpr std::string_view kExpected = "a CUDA version like 12.1, 12.1.1 or '12.1 Update 1'";
  std::string_view t = StripAsciiWhitespace(text);
  int update = 0;
  bool update_from_words = false;
  if (std::size_t sp = t.find(' '); sp != std::string_view::npos) {
    std::string_view words = StripAsciiWhitespace(t.substr(sp + 1));
    t = t.substr(0, sp);
    if (EqualsIgnoreCase(words, "GA")) {
      update_from_words = true;
    } else if (words.size() > 7 && EqualsIgnoreCase(words.substr(0, 7), "update ")) {
      auto u = ParseNonNegativeInt(words.substr(7));
      if (!u || *u > 99) return Invalid("CUDA version", text, kExpected);
      update = *u;
      update_from_words = true;
    } else {
      return Invalid("CUDA version", text, kExpected);
    }
  }
  auto parts = ParseDotted(t, 3, 3);
  if (!parts || parts->size() < 2) return Invalid("CUDA version", text, kExpected);
  if (parts->size() == 3) {
    if (update_from_words) return Invalid("CUDA version", text, kExpected);
    update = (*parts)[2];
  }
  return CudaVersion((*parts)[0], (*parts)[1], update);
}

std::string CudaVersion::ToString() const {
  return update_ == 0 ? StrCat(major_, ".", minor_) : StrCat(major_, ".", minor_, ".", update_);
}

absl::StatusOr<YearMonth> YearMonth::Parse(std::string_view text) {
  std::vector<std::string_view> p = StrSplit(text, '-');
  std::optional<int> y, m;
  if (p.size() == 2 && p[0].size() == 4 && p[1].size() == 2) {
    y = ParseNonNegativeInt(p[0]);
    m = ParseNonNegativeInt(p[1]);
  }
  if (!y || !m || *m < 1 || *m > 12) return Invalid("month", text, "YYYY-MM, like 2026-07");
  return YearMonth{*y, *m};
}

std::string YearMonth::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d", year, month);
  return buf;
}

absl::StatusOr<CivilDate> CivilDate::Parse(std::string_view text) {
  std::vector<std::string_view> p = StrSplit(text, '-');
  std::optional<int> y, m, d;
  if (p.size() == 3 && p[0].size() == 4 && p[1].size() == 2 && p[2].size() == 2) {
    y = ParseNonNegativeInt(p[0]);
    m = ParseNonNegativeInt(p[1]);
    d = ParseNonNegativeInt(p[2]);
  }
  if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1) {
    return Invalid("date", text, "YYYY-MM-DD, like 2026-11-28");
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  int max_day = (*m == 2 && !leap) ? 28 : kDays[*m - 1];
  if (*d > max_day) return Invalid("date", text, "a day that exists in that month");
  return CivilDate{*y, *m, *d};
}

std::string CivilDate::ToString() const {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", year, month, day);
  return buf;
}

bool CivilDate::After(const YearMonth& ym) const { return YearMonth{year, month} > ym; }

}  // namespace gpufleet::core
