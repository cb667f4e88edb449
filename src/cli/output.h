#ifndef GPUFLEET_CLI_OUTPUT_H_
#define GPUFLEET_CLI_OUTPUT_H_

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gpufleet::cli {

// Every command prints the same data three ways: an aligned table for people (default), JSON and
// YAML for scripts. Commands build one nlohmann::json document and, for tables, a Table.
enum class OutputFormat { kTable, kJson, kYaml };

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view text);

// An aligned text table. Columns are as wide as their widest cell; the last column is wrapped at
// `max_width` with continuation lines indented under it.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells);
  [[nodiscard]] bool empty() const { return rows_.empty(); }
  void Print(std::ostream& out, std::size_t max_width = 100) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Wraps `text` at word boundaries to lines of at most `width` characters (longer words stay
// whole), each continuation line prefixed by `indent`.
[[nodiscard]] std::string Wrap(std::string_view text, std::size_t width, std::string_view indent);

// A framebuffer size as NVIDIA's tables write it: "24 GB" (GB meaning GiB) or "512 MB".
[[nodiscard]] std::string FormatMib(int mib);

void WriteJson(const nlohmann::json& doc, std::ostream& out);
// Writes `doc` as JSON or YAML and returns true, or returns false for the table format (the
// caller then prints its table).
bool WriteStructured(OutputFormat format, const nlohmann::json& doc, std::ostream& out);
void WriteYaml(const nlohmann::json& doc, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_OUTPUT_H_
