#ifndef GPUFLEET_BENCH_REPORT_H_
#define GPUFLEET_BENCH_REPORT_H_

// The benchmark's one table: a row per measured item, gpufleet's value beside every baseline's,
// the target and whether gpufleet meets it. Printed as text for people or JSON for machines.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace gpufleet::bench {

// A measured value: what the table shows, and the number behind it for JSON (absent for "n/a").
struct Value {
  std::string text;
  std::optional<double> number;
};

enum class Verdict { kPass, kFail, kInfo, kNotAvailable };

struct Row {
  std::string workload = {};
  std::string size = {};
  std::string metric = {};
  Value gpufleet = {};
  std::vector<Value> baselines = {};  // in the order of Report::baselines; may be shorter (blank)
  std::string target = {};            // empty: no target (scaling or context rows)
  Verdict verdict = Verdict::kInfo;
  std::string note = {};  // printed as a numbered footnote
};

struct Report {
  std::vector<std::string> facts;  // "key: value" lines printed above the table
  std::vector<std::string> baselines;
  std::vector<Row> rows;
};

// Formats with thousands separators and `decimals` digits after the point: 12345.6 -> "12,345.6".
[[nodiscard]] std::string FormatNumber(double v, int decimals = 0);
[[nodiscard]] Value Number(double v, int decimals = 0);
[[nodiscard]] Value NotAvailable();
[[nodiscard]] std::string_view VerdictName(Verdict v);

void PrintTable(const Report& report, std::ostream& out);
void PrintJson(const Report& report, std::ostream& out);

}  // namespace gpufleet::bench

#endif  // GPUFLEET_BENCH_REPORT_H_
