#include "api/json_body.h"

#include "common/json.h"
#include "common/status_field.h"
#include "common/strings.h"

namespace gpufleet::api {

int ScanJsonDepth(std::string_view text, int max_depth, int* line, int* column) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  int cur_line = 1;
  int cur_column = 0;
  for (char c : text) {
    if (c == '\n') {
      ++cur_line;
      cur_column = 0;
    } else {
      ++cur_column;
    }
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) deepest = depth;
        if (depth > max_depth) {
          *line = cur_line;
          *column = cur_column;
          return max_depth + 1;
        }
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to report; never go negative here.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

absl::StatusOr<nlohmann::json> ParseJsonBody(std::string_view text, int max_depth) {
  if (StripAsciiWhitespace(text).empty()) {
    return WithField(absl::InvalidArgumentError("request body: expected JSON, got an empty body"),
                     "body");
  }
  int line = 0;
  int column = 0;
  if (ScanJsonDepth(text, max_depth, &line, &column) > max_depth) {
    return WithField(
        absl::InvalidArgumentError(StrCat("request body: JSON nested deeper than ", max_depth,
                                          " levels at line ", line, ", column ", column)),
        "body");
  }
  absl::StatusOr<nlohmann::json> parsed = ParseJson(text, "request body");
  if (!parsed.ok()) return WithField(parsed.status(), "body");
  return parsed;
}

}  // namespace gpufleet::api
