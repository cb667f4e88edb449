#ifndef GPUFLEET_API_REQUEST_H_
#define GPUFLEET_API_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/auth.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {

// Header fields in arrival order; names compare case-insensitively. Not thread-safe (plain value).
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  void Add(std::string name, std::string value);
  // Replaces every field named `name` by one field.
  void Set(std::string name, std::string value);
  // The first field named `name`.
  [[nodiscard]] std::optional<std::string_view> Get(std::string_view name) const;
  [[nodiscard]] bool Has(std::string_view name) const { return Get(name).has_value(); }
  [[nodiscard]] const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
};

// Query parameters, percent-decoded ('+' as space), in order; a key may repeat.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// One HTTP request as a handler sees it. The server fills every field before the handler runs;
// handlers get it by const reference and must not keep references past their return.
struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // the raw request target, e.g. "/api/v1/hosts?limit=5"
  std::string path;    // the raw path part of the target (still percent-encoded)
  std::string route;   // the matched route template, e.g. "/api/v1/hosts/{host}"
  PathParams path_params;
  QueryParams query;
  Headers headers;
  std::string body;
  std::string peer_address;  // the client's IP address, without port
  std::uint16_t peer_port = 0;
  // The authenticated caller. Empty on public routes (which are never authenticated). When the
  // server runs without an Authenticator (loopback-only development mode) it is
  // {"local", Role::kAdmin}.
  std::optional<Principal> principal;
  // The server's JSON nesting limit, used by JsonBody().
  int max_json_depth = 64;

  // The decoded value of a path parameter of the route; empty when the route has none by that
  // name (a programming error in the handler).
  [[nodiscard]] std::string_view PathParam(std::string_view name) const;
  // The first value of a query parameter.
  [[nodiscard]] std::optional<std::string_view> Query(std::string_view name) const;
  [[nodiscard]] std::optional<std::string_view> Header(std::string_view name) const {
    return headers.Get(name);
  }
  // The body parsed as JSON within max_json_depth; InvalidArgument naming line and column (or
  // the depth) otherwise.
  [[nodiscard]] absl::StatusOr<nlohmann::json> JsonBody() const;
};

// Decodes %XX escapes (and '+' as a space when `plus_is_space`); nullopt for a malformed escape.
[[nodiscard]] std::optional<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// Parses "a=1&b=x%20y&flag"; InvalidArgument (field "query") on a malformed escape.
[[nodiscard]] absl::StatusOr<QueryParams> ParseQuery(std::string_view query);

// Pagination: `?limit=N&cursor=C`. The cursor is opaque to clients (the store produces it).
inline constexpr int kDefaultPageLimit = 100;
inline constexpr int kMaxPageLimit = 1000;
inline constexpr std::size_t kMaxCursorLength = 512;

struct PageRequest {
  int limit = kDefaultPageLimit;
  std::string cursor;  // empty: the first page
};

// Reads limit (1..1000, default 100) and cursor (letters, digits and "-_.=~", at most 512
// characters). Errors are InvalidArgument with the field "limit" or "cursor".
[[nodiscard]] absl::StatusOr<PageRequest> ParsePageRequest(const Request& request);

// Resource versions are int64 and travel as strong ETags: version 7 is `"v7"`.
[[nodiscard]] std::string ETagForVersion(std::int64_t version);

// The version named by the If-Match header: nullopt when the header is absent or "*".
// InvalidArgument (field "If-Match") when it is not one strong ETag of the form "vN".
[[nodiscard]] absl::StatusOr<std::optional<std::int64_t>> ParseIfMatch(const Request& request);

// The error to return when a client's If-Match names another version than the current one:
// FailedPrecondition with the field "If-Match", which the API answers with 412.
[[nodiscard]] absl::Status VersionMismatchError(std::int64_t expected, std::int64_t current);

// OK when the request has no If-Match (or "*") or it names `current_version`;
// VersionMismatchError or ParseIfMatch's error otherwise.
[[nodiscard]] absl::Status CheckIfMatch(const Request& request, std::int64_t current_version);

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_REQUEST_H_
