#include "cli/output.h"

#include <algorithm>

#include "absl/status/status.h"
#include "common/strings.h"
#include "yaml-cpp/yaml.h"

namespace gpufleet::cli {

absl::StatusOr<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "yaml") return OutputFormat::kYaml;
  return absl::InvalidArgumentError(
      StrCat("--output ", QuoteForMessage(text), ": expected table, json or yaml"));
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Wrap(std::string_view text, std::size_t width, std::string_view indent) {
  std::string out;
  std::size_t line = 0;
  for (std::string_view word : StrSplit(text, ' ')) {
    if (word.empty()) continue;
    if (line > 0 && line + 1 + word.size() > width) {
      out += '\n';
      out += indent;
      line = 0;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    out += word;
    line += word.size();
  }
  return out;
}

void Table::Print(std::ostream& out, std::size_t max_width) const {
  const std::size_t n = headers_.size();
  std::vector<std::size_t> widths(n);
  for (std::size_t c = 0; c < n; ++c) {
    widths[c] = headers_[c].size();
    for (const auto& row : rows_) widths[c] = std::max(widths[c], row[c].size());
  }
  std::size_t prefix = 0;
  for (std::size_t c = 0; c + 1 < n; ++c) prefix += widths[c] + 2;
  const std::size_t last_width = max_width > prefix + 20 ? max_width - prefix : 20;
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t c = 0; c + 1 < n; ++c) {
      line += row[c];
      line.append(widths[c] - row[c].size() + 2, ' ');
    }
    line += Wrap(row[n - 1], last_width, std::string(prefix, ' '));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

std::string FormatMib(int mib) {
  if (mib % 1024 == 0) return StrCat(mib / 1024, " GB");
  return StrCat(mib, " MB");
}

void WriteJson(const nlohmann::json& doc, std::ostream& out) {
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

bool WriteStructured(OutputFormat format, const nlohmann::json& doc, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    WriteJson(doc, out);
    return true;
  }
  if (format == OutputFormat::kYaml) {
    WriteYaml(doc, out);
    return true;
  }
  return false;
}

namespace {

void EmitYaml(const nlohmann::json& j, YAML::Emitter& e) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      e << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        e << YAML::Key << key << YAML::Value;
        EmitYaml(value, e);
      }
      e << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      e << YAML::BeginSeq;
      for (const auto& v : j) EmitYaml(v, e);
      e << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: {
      // Quote strings that YAML would otherwise read as another type ("yes", "1.0", "null").
      const std::string& s = j.get_ref<const std::string&>();
      const bool ambiguous = s.empty() || s == "yes" || s == "no" || s == "true" || s == "false" ||
                             s == "null" || s == "~" ||
                             s.find_first_not_of("0123456789.-+e") == std::string::npos;
      if (ambiguous) e << YAML::DoubleQuoted;
      e << s;
      break;
    }
    case nlohmann::json::value_t::boolean:
      e << j.get<bool>();
      break;
    case nlohmann::json::value_t::number_integer:
      e << j.get<long long>();
      break;
    case nlohmann::json::value_t::number_unsigned:
      e << j.get<unsigned long long>();
      break;
    case nlohmann::json::value_t::number_float:
      e << j.get<double>();
      break;
    default:
      e << YAML::Null;
  }
}

}  // namespace

void WriteYaml(const nlohmann::json& doc, std::ostream& out) {
  YAML::Emitter e;
  EmitYaml(doc, e);
  out << e.c_str() << '\n';
}

}  // namespace gpufleet::cli
