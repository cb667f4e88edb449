#ifndef GPUFLEET_COMMON_JSON_H_
#define GPUFLEET_COMMON_JSON_H_

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gpufleet {

// The one adapter between nlohmann::json's exceptions and absl::Status: parse errors become
// InvalidArgument naming `what` (a file name or "request body"), the line and column.
absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, std::string_view what);

// Strict, path-aware reading of one JSON object. Every getter records the first error it meets
// (missing key, wrong type, out of range) and returns a harmless default, so a decoder reads all
// fields straight through and asks Finish() once. Finish() also rejects keys nobody asked for,
// which catches typos in hand-edited files. Messages look like
//   "boards[3].types[2].max_instances: expected an integer >= 0, got \"three\"".
class JsonReader {
 public:
  JsonReader(const nlohmann::json& object, std::string path);

  [[nodiscard]] std::string String(std::string_view key);
  [[nodiscard]] std::optional<std::string> OptString(std::string_view key);
  [[nodiscard]] int Int(std::string_view key, int min, int max);
  [[nodiscard]] std::optional<int> OptInt(std::string_view key, int min, int max);
  [[nodiscard]] bool Bool(std::string_view key);
  [[nodiscard]] std::optional<bool> OptBool(std::string_view key);
  // A missing or null key reads as an empty list.
  [[nodiscard]] std::vector<std::string> StringList(std::string_view key);
  // The array / object under `key`, or nullptr (with an error recorded when required).
  [[nodiscard]] const nlohmann::json* Array(std::string_view key, bool required = true);
  [[nodiscard]] const nlohmann::json* Object(std::string_view key, bool required = true);
  // Marks a key as known without reading it.
  void Ignore(std::string_view key);

  // Records an error that already carries its own path (from a nested reader), if none yet.
  void Propagate(const absl::Status& status) {
    if (error_.ok() && !status.ok()) error_ = status;
  }
  // Records a validation error about `key` found by the caller.
  void Fail(std::string_view key, std::string_view why);
  [[nodiscard]] std::string PathOf(std::string_view key) const;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] bool ok() const { return error_.ok(); }

  // The first error, or an error for the first unknown key, or OK.
  absl::Status Finish();

 private:
  const nlohmann::json* Get(std::string_view key, bool required);
  bool IsMissing(std::string_view key) const;

  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string, std::less<>> read_;
  absl::Status error_;
};

// A short rendering of a JSON value for error messages ("string \"x\"", "number 3", "null").
[[nodiscard]] std::string DescribeJson(const nlohmann::json& value);

}  // namespace gpufleet

#endif  // GPUFLEET_COMMON_JSON_H_
