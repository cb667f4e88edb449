#ifndef GPUFLEET_API_JSON_BODY_H_
#define GPUFLEET_API_JSON_BODY_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {

inline constexpr int kDefaultMaxJsonDepth = 64;

// Parses a request body as JSON. Nesting deeper than `max_depth` (an array or object counts one
// level; a top-level object is depth 1) is rejected by a linear pre-scan before any tree is built,
// so hostile input cannot exhaust the stack or memory. Errors are InvalidArgument with the field
// "body", naming the line and column: "request body: invalid JSON: parse error at line 1,
// column 3: ..." or "request body: JSON nested deeper than 64 levels at line 2, column 7".
// An empty body is an error too. Pure and thread-safe.
[[nodiscard]] absl::StatusOr<nlohmann::json> ParseJsonBody(std::string_view text,
                                                           int max_depth = kDefaultMaxJsonDepth);

// The deepest nesting of arrays and objects in `text`, ignoring brackets inside strings; stops
// counting (and returns max_depth + 1) as soon as max_depth is exceeded, setting *line and
// *column (1-based) to the offending bracket. Exposed for the fuzzer and tests.
[[nodiscard]] int ScanJsonDepth(std::string_view text, int max_depth, int* line, int* column);

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_JSON_BODY_H_
