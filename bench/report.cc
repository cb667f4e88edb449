#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace gpufleet::bench {

std::string FormatNumber(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, std::fabs(v));
  std::string digits(buf);
  const std::size_t point = std::min(digits.find('.'), digits.size());
  std::string out = digits.substr(point);
  for (std::size_t i = 0; i < point; ++i) {
    if (i > 0 && i % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), digits[point - 1 - i]);
  }
  // -0.0 and values that round to zero print without a sign.
  return v < 0 && std::any_of(digits.begin(), digits.end(),
                              [](char c) { return c > '0' && c <= '9'; })
             ? "-" + out
             : out;
}

Value Number(double v, int decimals) { return Value{FormatNumber(v, decimals), v}; }
Value NotAvailable() { return Value{"n/a", std::nullopt}; }

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kInfo:
      return "-";
    case Verdict::kNotAvailable:
      return "n/a";
  }
  return "?";
}

void PrintTable(const Report& report, std::ostream& out) {
  for (const std::string& f : report.facts) out << f << "\n";
  out << "\n";
  std::vector<std::string> header = {"workload", "size", "metric", "gpufleet"};
  for (const std::string& b : report.baselines) header.push_back(b);
  header.push_back("target");
  header.push_back("result");
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> notes;
  for (const Row& r : report.rows) {
    std::vector<std::string> line = {r.workload, r.size, r.metric, r.gpufleet.text};
    for (std::size_t i = 0; i < report.baselines.size(); ++i) {
      line.push_back(i < r.baselines.size() ? r.baselines[i].text : "");
    }
    line.push_back(r.target.empty() ? "-" : r.target);
    std::string verdict(VerdictName(r.verdict));
    if (!r.note.empty()) {
      // Rows that share a note share its number.
      auto it = std::find(notes.begin(), notes.end(), r.note);
      if (it == notes.end()) it = notes.insert(notes.end(), r.note);
      verdict += StrCat(" [", it - notes.begin() + 1, "]");
    }
    line.push_back(verdict);
    cells.push_back(std::move(line));
  }
  std::vector<std::size_t> width(header.size(), 0);
  auto widen = [&](const std::vector<std::string>& line) {
    for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  };
  widen(header);
  for (const auto& line : cells) widen(line);
  // Text columns left-aligned, numbers right-aligned.
  auto print = [&](const std::vector<std::string>& line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      const std::size_t pad = width[i] - line[i].size();
      const bool numeric = i >= 3 && i < 4 + report.baselines.size();
      if (i > 0) out << " | ";
      if (numeric) out << std::string(pad, ' ');
      out << line[i];
      if (!numeric && i + 1 < line.size()) out << std::string(pad, ' ');
    }
    out << "\n";
  };
  print(header);
  std::vector<std::string> rule;
  for (std::size_t w : width) rule.push_back(std::string(w, '-'));
  print(rule);
  for (const auto& line : cells) print(line);
  if (!notes.empty()) out << "\n";
  for (std::size_t i = 0; i < notes.size(); ++i) out << "[" << i + 1 << "] " << notes[i] << "\n";
}

void PrintJson(const Report& report, std::ostream& out) {
  auto value = [](const Value& v) -> nlohmann::json {
    if (v.number) return *v.number;
    return nullptr;
  };
  nlohmann::json doc = nlohmann::json::object();
  doc["facts"] = report.facts;
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& r : report.rows) {
    nlohmann::json row = {{"workload", r.workload}, {"size", r.size},
                          {"metric", r.metric},     {"gpufleet", value(r.gpufleet)},
                          {"target", r.target},     {"result", std::string(VerdictName(r.verdict))},
                          {"note", r.note}};
    nlohmann::json baselines = nlohmann::json::object();
    for (std::size_t i = 0; i < report.baselines.size() && i < r.baselines.size(); ++i) {
      baselines[report.baselines[i]] = value(r.baselines[i]);
    }
    row["baselines"] = baselines;
    rows.push_back(row);
  }
  doc["rows"] = rows;
  // Replace, not throw, on invalid UTF-8: every string here is ASCII we wrote ourselves.
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace gpufleet::bench
