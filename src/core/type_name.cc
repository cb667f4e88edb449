#include "core/type_name.h"

#include "absl/status/status.h"
#include "common/strings.h"

namespace gpufleet::core {
namespace {

constexpr std::string_view kGrammar =
    "expected <board>-<GB><series> like P40-8Q, or <board>-<slices>-<GB><series> like "
    "A100D-3-40C (series Q, C, B or A; VMware 'grid_p40-8q' and sysfs 'GRID P40-8Q' spellings "
    "are accepted too)";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

absl::Status TypeError(std::string_view input, std::string_view why) {
  return absl::InvalidArgumentError(
      StrCat("vGPU type ", QuoteForMessage(input), ": ", why, "; ", kGrammar));
}

// Variants NVIDIA uses after the series letter: B4 (4-head vPC), and the MIG media-engine flags.
bool IsKnownVariant(std::string_view v) {
  for (std::string_view known : {"", "4", "ME", "NOME", "MEALL", "GFX"}) {
    if (EqualsIgnoreCase(v, known)) return true;
  }
  return false;
}

}  // namespace

std::string TypeName::ToString() const {
  std::string out = board_prefix + "-";
  if (gpu_instance_slices) StrAppend(&out, *gpu_instance_slices, "-");
  StrAppend(&out, framebuffer_gb, std::string(1, SeriesLetter(series)), variant);
  return out;
}

std::string TypeName::VmwareProfile() const { return "grid_" + AsciiLower(ToString()); }

std::string TypeName::SysfsName(bool ampere_or_later) const {
  return (ampere_or_later ? "NVIDIA " : "GRID ") + ToString();
}

absl::StatusOr<TypeName> ParseTypeName(std::string_view spelling) {
  if (spelling.size() > kMaxTypeSpellingLength) {
    return TypeError(spelling, StrCat("longer than ", kMaxTypeSpellingLength, " characters"));
  }
  std::string_view s = StripAsciiWhitespace(spelling);
  if (StartsWithIgnoreCase(s, "grid_")) {
    s.remove_prefix(5);
  } else if (StartsWithIgnoreCase(s, "GRID ")) {
    s = StripAsciiWhitespace(s.substr(5));
  } else if (StartsWithIgnoreCase(s, "NVIDIA ")) {
    s = StripAsciiWhitespace(s.substr(7));
  }
  if (s.empty()) return TypeError(spelling, "empty name");

  std::size_t last_dash = s.rfind('-');
  if (last_dash == std::string_view::npos) return TypeError(spelling, "no '-' after the board");
  std::string_view head = s.substr(0, last_dash);
  std::string_view tail = s.substr(last_dash + 1);

  std::size_t i = 0;
  while (i < tail.size() && IsDigit(tail[i])) ++i;
  if (i == 0 || i > 4) {
    return TypeError(spelling, StrCat("the part after the last '-', ", QuoteForMessage(tail),
                                      ", does not start with a size in GB"));
  }
  if (i == tail.size()) {
    return TypeError(spelling, StrCat("size ", tail, " has no series letter"));
  }
  TypeName out;
  out.framebuffer_gb = *ParseNonNegativeInt(tail.substr(0, i));
  std::optional<Series> series = SeriesFromLetter(tail[i]);
  if (!series) {
    return TypeError(spelling, StrCat("series ", QuoteForMessage(tail.substr(i, 1)),
                                      " is not one of Q, C, B, A"));
  }
  out.series = *series;
  std::string_view variant = tail.substr(i + 1);
  if (!IsKnownVariant(variant)) {
    return TypeError(spelling, StrCat("unknown variant suffix ", QuoteForMessage(variant),
                                      " (known: B4, ME, NOME, MEALL, GFX)"));
  }
  out.variant = AsciiUpper(variant);

  // A MIG-backed name has one more all-digit segment (the GPU instance slices) before the size.
  if (std::size_t dash = head.rfind('-'); dash != std::string_view::npos) {
    std::string_view maybe_slices = head.substr(dash + 1);
    if (AllDigits(maybe_slices)) {
      std::optional<int> slices = ParseNonNegativeInt(maybe_slices);
      if (!slices || *slices < 1 || *slices > 8) {
        return TypeError(spelling, StrCat("MIG slice count ", maybe_slices, " is outside 1..8"));
      }
      out.gpu_instance_slices = *slices;
      head = head.substr(0, dash);
    }
  }
  if (head.empty()) return TypeError(spelling, "missing board prefix before the size");
  if (!IsAlpha(head.front()) || head.back() == '-') {
    return TypeError(spelling, StrCat("board prefix ", QuoteForMessage(head),
                                      " must start with a letter, like P40 or A100D"));
  }
  for (char c : head) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '-') {
      return TypeError(spelling, StrCat("board prefix ", QuoteForMessage(head),
                                        " may contain only letters, digits and '-'"));
    }
  }
  out.board_prefix = std::string(head);
  return out;
}

bool LooksLikeMdevTypeId(std::string_view text) {
  std::string_view s = StripAsciiWhitespace(text);
  return StartsWithIgnoreCase(s, "nvidia-") && AllDigits(s.substr(7));
}

absl::StatusOr<int> ParseMdevTypeId(std::string_view text) {
  std::string_view s = StripAsciiWhitespace(text);
  if (!StartsWithIgnoreCase(s, "nvidia-") || s.size() > 7 + 6 || !AllDigits(s.substr(7))) {
    return absl::InvalidArgumentError(
        StrCat("mdev type id ", QuoteForMessage(text),
               ": expected 'nvidia-' followed by a number, like nvidia-63"));
  }
  return *ParseNonNegativeInt(s.substr(7));
}

bool LooksLikeMdevDescription(std::string_view text) {
  return text.find('=') != std::string_view::npos;
}

absl::StatusOr<MdevDescription> ParseMdevDescription(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat(
        "mdev description ", QuoteForMessage(text), ": ", why,
        " (expected 'num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, "
        "max_instance=3')"));
  };
  // Bounds on items, keys and values keep ToString() of anything accepted within the input bound,
  // so a parsed description always parses again.
  constexpr std::size_t kMaxItems = 16, kMaxKey = 32, kMaxValue = 64, kMaxLength = 2048;
  static_assert(kMaxItems * (kMaxKey + 1 + kMaxValue + 2) < kMaxLength);
  if (text.size() > kMaxLength) return fail("too long");
  MdevDescription d;
  bool have_fb = false, have_max = false;
  std::vector<std::string> seen;
  auto number = [&](std::string_view key, std::string_view value) -> absl::StatusOr<int> {
    std::optional<int> v = ParseNonNegativeInt(value);
    if (!v) return fail(StrCat(key, "=", QuoteForMessage(value), " is not a number"));
    return *v;
  };
  for (std::string_view item : StrSplit(text, ',')) {
    item = StripAsciiWhitespace(item);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return fail(StrCat("item ", QuoteForMessage(item), " is not key=value"));
    }
    std::string key = AsciiLower(StripAsciiWhitespace(item.substr(0, eq)));
    std::string_view value = StripAsciiWhitespace(item.substr(eq + 1));
    if (key.size() > kMaxKey || value.size() > kMaxValue) {
      return fail(StrCat("item ", QuoteForMessage(item, 40), " is too long"));
    }
    if (seen.size() == kMaxItems) return fail(StrCat("more than ", kMaxItems, " items"));
    for (const std::string& k : seen) {
      if (k == key) return fail(StrCat("key ", key, " appears twice"));
    }
    seen.push_back(key);
    if (key == "num_heads") {
      auto v = number(key, value);
      if (!v.ok()) return v.status();
      d.num_heads = *v;
    } else if (key == "frl_config") {
      auto v = number(key, value);
      if (!v.ok()) return v.status();
      d.frl_config = *v;
    } else if (key == "max_instance") {
      auto v = number(key, value);
      if (!v.ok()) return v.status();
      d.max_instance = *v;
      have_max = true;
    } else if (key == "framebuffer") {
      if (value.size() < 2 || (value.back() != 'M' && value.back() != 'm')) {
        return fail(
            StrCat("framebuffer=", QuoteForMessage(value), " is not a size in MiB like 8192M"));
      }
      auto v = number(key, value.substr(0, value.size() - 1));
      if (!v.ok()) return v.status();
      d.framebuffer_mib = *v;
      have_fb = true;
    } else if (key == "max_resolution") {
      std::size_t x = value.find('x');
      if (x == std::string_view::npos || !AllDigits(value.substr(0, x)) ||
          !AllDigits(value.substr(x + 1)) || value.size() > 11) {
        return fail(StrCat("max_resolution=", QuoteForMessage(value),
                           " is not WIDTHxHEIGHT like 7680x4320"));
      }
      d.max_resolution = std::string(value);
    } else {
      d.extra.emplace_back(key, std::string(value));
    }
  }
  if (!have_fb) return fail("missing framebuffer");
  if (!have_max) return fail("missing max_instance");
  return d;
}

std::string MdevDescription::ToString() const {
  std::vector<std::string> items;
  if (num_heads) items.push_back(StrCat("num_heads=", *num_heads));
  if (frl_config) items.push_back(StrCat("frl_config=", *frl_config));
  items.push_back(StrCat("framebuffer=", framebuffer_mib, "M"));
  if (max_resolution) items.push_back(StrCat("max_resolution=", *max_resolution));
  items.push_back(StrCat("max_instance=", max_instance));
  for (const auto& [k, v] : extra) items.push_back(StrCat(k, "=", v));
  return StrJoin(items, ", ");
}

}  // namespace gpufleet::core
