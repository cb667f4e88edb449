// Fuzzes the API's depth-limited JSON body parser (api::ParseJsonBody) at the default limit and
// at a small one, so that both the depth pre-scan and the parser behind it are exercised. Beyond
// "no crash, no sanitizer report" it checks that the parser agrees with nlohmann's own acceptor
// on every input within the limit, that nothing deeper than the limit is ever accepted, that
// errors are InvalidArgument about the field "body", and that accepted documents round-trip.

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/json_body.h"
#include "common/status_field.h"
#include "common/strings.h"
#include "fuzz_check.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {
namespace {

using fuzz::Check;
using fuzz::PropertyViolated;

// Depth of a parsed tree; only called on trees the limit already bounds.
int TreeDepth(const nlohmann::json& j) {
  if (!j.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : j) {
    int d = TreeDepth(child);
    if (d > deepest) deepest = d;
  }
  return deepest + 1;
}

void CheckAtLimit(std::string_view input, int max_depth) {
  absl::StatusOr<nlohmann::json> parsed = ParseJsonBody(input, max_depth);
  int line = 0;
  int column = 0;
  int depth = ScanJsonDepth(input, INT_MAX, &line, &column);
  bool too_deep = ScanJsonDepth(input, max_depth, &line, &column) > max_depth;
  Check(too_deep == (depth > max_depth), "the pre-scan stops exactly past the limit", input);
  bool blank = StripAsciiWhitespace(input).empty();
  bool valid = !blank && nlohmann::json::accept(input.begin(), input.end());

  if (!parsed.ok()) {
    const absl::Status& s = parsed.status();
    Check(s.code() == absl::StatusCode::kInvalidArgument, "errors are InvalidArgument", input);
    Check(FieldOf(s) == "body", "errors name the field \"body\"", input);
    Check(ToStd(s.message()).starts_with("request body: "), "errors say \"request body\"", input);
    if (too_deep) {
      Check(ToStd(s.message()).find(StrCat("at line ", line, ", column ", column)) !=
                std::string_view::npos,
            "depth errors name the line and column", input);
    }
    if (valid && !too_deep) {
      PropertyViolated(
          StrCat("valid JSON within depth ", max_depth, " rejected: ", ToStd(s.message())), input);
    }
    return;
  }
  Check(valid, "only valid JSON is accepted", input);
  Check(!too_deep, "nothing deeper than the limit is accepted", input);
  Check(TreeDepth(*parsed) <= max_depth, "the parsed tree is within the limit", input);
  Check(TreeDepth(*parsed) == depth, "the pre-scan measures the tree's depth", input);
  std::string dumped = parsed->dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  absl::StatusOr<nlohmann::json> again = ParseJsonBody(dumped, max_depth);
  if (!again.ok()) {
    PropertyViolated(
        StrCat("the dump of an accepted body is rejected: ", ToStd(again.status().message())),
        input);
  }
  Check(*again == *parsed, "an accepted body round-trips through dump()", input);
}

}  // namespace
}  // namespace gpufleet::api

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > gpufleet::fuzz::kMaxFuzzInput) return -1;
  std::string_view input = gpufleet::fuzz::AsText(data, size);
  gpufleet::api::CheckAtLimit(input, gpufleet::api::kDefaultMaxJsonDepth);
  gpufleet::api::CheckAtLimit(input, 3);
  return 0;
}
