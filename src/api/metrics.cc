#include "api/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "common/strings.h"

namespace gpufleet::api {
namespace {

constexpr char kDroppedFamily[] = "gpufleet_metrics_dropped_samples_total";

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  return IsMetricName(s) && s.find(':') == std::string_view::npos && !s.starts_with("__");
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricFamily::MetricFamily(MetricsRegistry* registry, std::string name, std::string help,
                           std::vector<std::string> label_names, std::size_t max_series)
    : registry_(registry),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(max_series) {}

std::size_t MetricFamily::series_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return SeriesCountLocked();
}

bool MetricFamily::Admit(const LabelValues& values, bool exists) {
  if (values.size() == label_names_.size() && (exists || SeriesCountLocked() < max_series_)) {
    return true;
  }
  registry_->CountDropped(name_);
  return false;
}

void MetricFamily::RenderHeader(std::string_view type, std::string* out) const {
  StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n");
  StrAppend(out, "# TYPE ", name_, " ", type, "\n");
}

void MetricFamily::AppendSeriesName(std::string_view suffix, const LabelValues& values,
                                    std::string_view extra_label, std::string_view extra_value,
                                    std::string* out) const {
  StrAppend(out, name_, suffix);
  if (values.empty() && extra_label.empty()) return;
  out->push_back('{');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    StrAppend(out, label_names_[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_label.empty()) {
    if (!values.empty()) out->push_back(',');
    StrAppend(out, extra_label, "=\"", EscapeLabelValue(extra_value), "\"");
  }
  out->push_back('}');
}

void CounterFamily::Add(const LabelValues& values, double delta) {
  if (!(delta >= 0)) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (!Admit(values, it != series_.end())) return;
  if (it == series_.end()) it = series_.emplace(values, 0.0).first;
  it->second += delta;
}

double CounterFamily::Value(const LabelValues& values) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  return it == series_.end() ? 0 : it->second;
}

std::size_t CounterFamily::SeriesCountLocked() const { return series_.size(); }

void CounterFamily::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  RenderHeader("counter", out);
  for (const auto& [values, value] : series_) {
    AppendSeriesName("", values, "", "", out);
    StrAppend(out, " ", FormatMetricValue(value), "\n");
  }
}

void GaugeFamily::Set(const LabelValues& values, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (!Admit(values, it != series_.end())) return;
  series_[values] = value;
}

void GaugeFamily::Add(const LabelValues& values, double delta) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (!Admit(values, it != series_.end())) return;
  series_[values] += delta;
}

void GaugeFamily::ReplaceAll(const std::vector<std::pair<LabelValues, double>>& series) {
  std::lock_guard<std::mutex> lock(mu_);
  series_.clear();
  for (const auto& [values, value] : series) {
    auto it = series_.find(values);
    if (!Admit(values, it != series_.end())) continue;
    series_[values] = value;
  }
}

double GaugeFamily::Value(const LabelValues& values) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  return it == series_.end() ? 0 : it->second;
}

std::size_t GaugeFamily::SeriesCountLocked() const { return series_.size(); }

void GaugeFamily::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  RenderHeader("gauge", out);
  for (const auto& [values, value] : series_) {
    AppendSeriesName("", values, "", "", out);
    StrAppend(out, " ", FormatMetricValue(value), "\n");
  }
}

HistogramFamily::HistogramFamily(MetricsRegistry* registry, std::string name, std::string help,
                                 std::vector<std::string> label_names, std::size_t max_series,
                                 std::vector<double> bounds)
    : MetricFamily(registry, std::move(name), std::move(help), std::move(label_names), max_series),
      bounds_(std::move(bounds)) {}

void HistogramFamily::Observe(const LabelValues& values, double value) {
  if (std::isnan(value)) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  if (!Admit(values, it != series_.end())) return;
  if (it == series_.end()) {
    Series s;
    s.buckets.assign(bounds_.size() + 1, 0);
    it = series_.emplace(values, std::move(s)).first;
  }
  auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++it->second.buckets[static_cast<std::size_t>(bucket - bounds_.begin())];
  it->second.sum += value;
  ++it->second.count;
}

std::uint64_t HistogramFamily::Count(const LabelValues& values) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(values);
  return it == series_.end() ? 0 : it->second.count;
}

std::size_t HistogramFamily::SeriesCountLocked() const { return series_.size(); }

void HistogramFamily::Render(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  RenderHeader("histogram", out);
  for (const auto& [values, s] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      std::string le = i < bounds_.size() ? FormatMetricValue(bounds_[i]) : "+Inf";
      AppendSeriesName("_bucket", values, "le", le, out);
      StrAppend(out, " ", cumulative, "\n");
    }
    AppendSeriesName("_sum", values, "", "", out);
    StrAppend(out, " ", FormatMetricValue(s.sum), "\n");
    AppendSeriesName("_count", values, "", "", out);
    StrAppend(out, " ", s.count, "\n");
  }
}

MetricsRegistry::MetricsRegistry(Options options) : options_(options) {
  auto dropped = std::unique_ptr<CounterFamily>(new CounterFamily(
      this, kDroppedFamily,
      "Samples dropped because their family reached its series limit or had the wrong labels.",
      {"family"}, std::numeric_limits<std::size_t>::max()));
  dropped_ = dropped.get();
  families_.emplace(kDroppedFamily, std::move(dropped));
}

void MetricsRegistry::CountDropped(const std::string& family) { dropped_->Add({family}, 1); }

absl::Status MetricsRegistry::CheckNew(std::string_view name,
                                       const std::vector<std::string>& label_names,
                                       bool histogram) const {
  if (!IsMetricName(name) || name.starts_with("__")) {
    return absl::InvalidArgumentError(
        StrCat("metric name ", QuoteForMessage(name), " is not [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    if (!IsLabelName(label) || (histogram && label == "le")) {
      return absl::InvalidArgumentError(
          StrCat("metric ", name, ": label name ", QuoteForMessage(label), " is not allowed"));
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(StrCat("metric ", name, ": label ", label, " twice"));
    }
  }
  return absl::OkStatus();
}

namespace {

template <typename F>
absl::StatusOr<F*> Existing(MetricFamily* family, std::string_view name,
                            const std::vector<std::string>& label_names) {
  auto* typed = dynamic_cast<F*>(family);
  if (typed == nullptr || typed->label_names() != label_names) {
    return absl::AlreadyExistsError(
        StrCat("metric ", name, " is already registered with another type or labels"));
  }
  return typed;
}

}  // namespace

absl::StatusOr<CounterFamily*> MetricsRegistry::AddCounter(std::string_view name,
                                                           std::string_view help,
                                                           std::vector<std::string> label_names) {
  if (absl::Status s = CheckNew(name, label_names, false); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    return Existing<CounterFamily>(it->second.get(), name, label_names);
  }
  bool unlabelled = label_names.empty();
  auto family = std::unique_ptr<CounterFamily>(
      new CounterFamily(this, std::string(name), std::string(help), std::move(label_names),
                        options_.max_series_per_family));
  CounterFamily* ptr = family.get();
  if (unlabelled) ptr->series_.emplace(LabelValues(), 0.0);
  families_.emplace(std::string(name), std::move(family));
  return ptr;
}

absl::StatusOr<GaugeFamily*> MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                                       std::vector<std::string> label_names) {
  if (absl::Status s = CheckNew(name, label_names, false); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    return Existing<GaugeFamily>(it->second.get(), name, label_names);
  }
  auto family = std::unique_ptr<GaugeFamily>(
      new GaugeFamily(this, std::string(name), std::string(help), std::move(label_names),
                      options_.max_series_per_family));
  GaugeFamily* ptr = family.get();
  families_.emplace(std::string(name), std::move(family));
  return ptr;
}

absl::StatusOr<HistogramFamily*> MetricsRegistry::AddHistogram(std::string_view name,
                                                               std::string_view help,
                                                               std::vector<std::string> label_names,
                                                               std::vector<double> bounds) {
  if (absl::Status s = CheckNew(name, label_names, true); !s.ok()) return s;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return absl::InvalidArgumentError(
          StrCat("histogram ", name, ": bucket bounds must be finite and strictly increasing"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    absl::StatusOr<HistogramFamily*> existing =
        Existing<HistogramFamily>(it->second.get(), name, label_names);
    if (existing.ok() && (*existing)->bounds_ != bounds) {
      return absl::AlreadyExistsError(
          StrCat("histogram ", name, " is already registered with other buckets"));
    }
    return existing;
  }
  auto family = std::unique_ptr<HistogramFamily>(
      new HistogramFamily(this, std::string(name), std::string(help), std::move(label_names),
                          options_.max_series_per_family, std::move(bounds)));
  HistogramFamily* ptr = family.get();
  families_.emplace(std::string(name), std::move(family));
  return ptr;
}

void MetricsRegistry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::Render() {
  {
    std::lock_guard<std::mutex> scrape(collect_mu_);
    std::vector<std::function<void()>> collectors;
    {
      std::lock_guard<std::mutex> lock(mu_);
      collectors = collectors_;
    }
    for (const auto& collect : collectors) collect();
  }
  std::vector<const MetricFamily*> families;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const MetricFamily* family : families) family->Render(&out);
  return out;
}

}  // namespace gpufleet::api
