#include "api/request.h"

#include <charconv>
#include <limits>

#include "api/json_body.h"
#include "common/status_field.h"
#include "common/strings.h"

namespace gpufleet::api {

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const Field& f) { return EqualsIgnoreCase(f.first, name); });
  fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const Field& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

std::string_view Request::PathParam(std::string_view name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string_view> Request::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

absl::StatusOr<nlohmann::json> Request::JsonBody() const {
  return ParseJsonBody(body, max_json_depth);
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsCursorChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '=' || c == '~';
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<QueryParams> ParseQuery(std::string_view query) {
  QueryParams out;
  if (query.empty()) return out;
  for (std::string_view part : StrSplit(query, '&')) {
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    std::string_view raw_key = part.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : part.substr(eq + 1);
    std::optional<std::string> key = PercentDecode(raw_key, true);
    std::optional<std::string> value = PercentDecode(raw_value, true);
    if (!key.has_value() || !value.has_value()) {
      return WithField(absl::InvalidArgumentError(
                           StrCat("query: malformed percent-escape in ", QuoteForMessage(part))),
                       "query");
    }
    out.emplace_back(*std::move(key), *std::move(value));
  }
  return out;
}

absl::StatusOr<PageRequest> ParsePageRequest(const Request& request) {
  PageRequest page;
  int limits = 0;
  int cursors = 0;
  for (const auto& [key, value] : request.query) {
    if (key == "limit") {
      if (++limits > 1) {
        return WithField(absl::InvalidArgumentError("limit: given more than once"), "limit");
      }
      std::optional<int> n = ParseNonNegativeInt(value);
      if (!n.has_value() || *n < 1 || *n > kMaxPageLimit) {
        return WithField(
            absl::InvalidArgumentError(StrCat("limit: expected an integer from 1 to ",
                                              kMaxPageLimit, ", got ", QuoteForMessage(value))),
            "limit");
      }
      page.limit = *n;
    } else if (key == "cursor") {
      if (++cursors > 1) {
        return WithField(absl::InvalidArgumentError("cursor: given more than once"), "cursor");
      }
      bool valid = value.size() <= kMaxCursorLength;
      for (char c : value) valid = valid && IsCursorChar(c);
      if (!valid) {
        return WithField(absl::InvalidArgumentError(
                             StrCat("cursor: expected the opaque cursor of a previous page, got ",
                                    QuoteForMessage(value))),
                         "cursor");
      }
      page.cursor = value;
    }
  }
  return page;
}

std::string ETagForVersion(std::int64_t version) { return StrCat("\"v", version, "\""); }

absl::StatusOr<std::optional<std::int64_t>> ParseIfMatch(const Request& request) {
  std::optional<std::string_view> header = request.Header("If-Match");
  if (!header.has_value()) return std::optional<std::int64_t>();
  std::string_view v = StripAsciiWhitespace(*header);
  if (v == "*") return std::optional<std::int64_t>();
  auto invalid = [&] {
    return WithField(absl::InvalidArgumentError(StrCat(
                         "If-Match: expected one ETag like \"v7\" as returned in the ETag header, "
                         "got ",
                         QuoteForMessage(v))),
                     "If-Match");
  };
  if (v.size() < 4 || v.front() != '"' || v.back() != '"' || v[1] != 'v') return invalid();
  std::string_view digits = v.substr(2, v.size() - 3);
  std::int64_t version = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || end != digits.data() + digits.size() || version < 0 ||
      digits.front() == '+') {
    return invalid();
  }
  return std::optional<std::int64_t>(version);
}

absl::Status VersionMismatchError(std::int64_t expected, std::int64_t current) {
  return WithField(absl::FailedPreconditionError(StrCat(
                       "If-Match: the resource is at version ", current, ", not ", expected,
                       "; read it again and retry with If-Match: ", ETagForVersion(current))),
                   "If-Match");
}

absl::Status CheckIfMatch(const Request& request, std::int64_t current_version) {
  absl::StatusOr<std::optional<std::int64_t>> expected = ParseIfMatch(request);
  if (!expected.ok()) return expected.status();
  if (expected->has_value() && **expected != current_version) {
    return VersionMismatchError(**expected, current_version);
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::api
