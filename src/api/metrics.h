#ifndef GPUFLEET_API_METRICS_H_
#define GPUFLEET_API_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gpufleet::api {

// Prometheus metrics in the text exposition format 0.0.4.
//
// A family has a name, a HELP text, a type and fixed label names; its series are keyed by label
// values. Cardinality is bounded: a family keeps at most `max_series_per_family` series, and a
// sample for a new series beyond that (or with the wrong number of label values) is dropped and
// counted in gpufleet_metrics_dropped_samples_total{family="..."} instead of growing the output.
//
// Thread-safety: every method may be called from any thread. Family pointers returned by the
// registry stay valid as long as the registry; families are never removed.

class MetricsRegistry;

using LabelValues = std::vector<std::string>;

// Common parts of the three kinds of family; not used directly.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const { return label_names_; }
  [[nodiscard]] std::size_t series_count() const;

 protected:
  MetricFamily(MetricsRegistry* registry, std::string name, std::string help,
               std::vector<std::string> label_names, std::size_t max_series);
  // Appends the HELP and TYPE lines and every series of this family to `out`.
  virtual void Render(std::string* out) const = 0;
  virtual std::size_t SeriesCountLocked() const = 0;
  // True when `values` may be recorded (count matches, and the series exists or fits the bound);
  // counts a dropped sample otherwise. Call with mu_ held.
  bool Admit(const LabelValues& values, bool exists);
  void RenderHeader(std::string_view type, std::string* out) const;
  // `name{a="x",b="y"<extra>}` (no braces when there are no labels and no extra).
  void AppendSeriesName(std::string_view suffix, const LabelValues& values,
                        std::string_view extra_label, std::string_view extra_value,
                        std::string* out) const;

  mutable std::mutex mu_;

 private:
  friend class MetricsRegistry;
  MetricsRegistry* registry_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::size_t max_series_;
};

// A monotonically increasing value per series.
class CounterFamily final : public MetricFamily {
 public:
  // Adds `delta` to the series; negative or NaN deltas are ignored.
  void Add(const LabelValues& values, double delta = 1);
  // The current value (0 for an unknown series); for tests.
  [[nodiscard]] double Value(const LabelValues& values) const;

 private:
  friend class MetricsRegistry;
  using MetricFamily::MetricFamily;
  void Render(std::string* out) const override;
  std::size_t SeriesCountLocked() const override;
  std::map<LabelValues, double> series_;
};

// A value that goes up and down, set directly or replaced wholesale by a collector.
class GaugeFamily final : public MetricFamily {
 public:
  void Set(const LabelValues& values, double value);
  void Add(const LabelValues& values, double delta);
  // Replaces every series by `series` in one step, so a scrape never sees a half-updated family.
  // Series not listed disappear (a GPU that went away is no longer exported).
  void ReplaceAll(const std::vector<std::pair<LabelValues, double>>& series);
  [[nodiscard]] double Value(const LabelValues& values) const;

 private:
  friend class MetricsRegistry;
  using MetricFamily::MetricFamily;
  void Render(std::string* out) const override;
  std::size_t SeriesCountLocked() const override;
  std::map<LabelValues, double> series_;
};

// Observations counted into fixed buckets (upper bounds; +Inf is implicit).
class HistogramFamily final : public MetricFamily {
 public:
  void Observe(const LabelValues& values, double value);
  // The number of observations of a series; for tests.
  [[nodiscard]] std::uint64_t Count(const LabelValues& values) const;

 private:
  friend class MetricsRegistry;
  HistogramFamily(MetricsRegistry* registry, std::string name, std::string help,
                  std::vector<std::string> label_names, std::size_t max_series,
                  std::vector<double> bounds);
  void Render(std::string* out) const override;
  std::size_t SeriesCountLocked() const override;
  struct Series {
    std::vector<std::uint64_t> buckets;  // per bound, not cumulative; last is +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  std::vector<double> bounds_;
  std::map<LabelValues, Series> series_;
};

// Buckets for request latencies in seconds: 1 ms to 10 s.
[[nodiscard]] std::vector<double> DefaultLatencyBuckets();

class MetricsRegistry {
 public:
  struct Options {
    std::size_t max_series_per_family = 1000;
  };

  MetricsRegistry() : MetricsRegistry(Options()) {}
  explicit MetricsRegistry(Options options);
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the existing one when name, kind and label names (and bounds)
  // are equal; the first HELP text stays. InvalidArgument for a bad metric or label name
  // (Prometheus' grammar; no
  // "__" prefix; "le" is reserved for histograms), AlreadyExists for a conflicting family.
  absl::StatusOr<CounterFamily*> AddCounter(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names = {});
  absl::StatusOr<GaugeFamily*> AddGauge(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names = {});
  // `bounds`: strictly increasing, finite.
  absl::StatusOr<HistogramFamily*> AddHistogram(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds);

  // `collect` runs at the start of every Render(), on the rendering thread, one scrape at a time
  // and with no registry lock held; it typically calls GaugeFamily::ReplaceAll with values read
  // from the controller (GPU temperatures, slots used and free, license seats). It must be
  // thread-safe with respect to what it reads, and must not call Render().
  void AddCollector(std::function<void()> collect);

  // The exposition: families sorted by name, series by label values.
  [[nodiscard]] std::string Render();

  // The Content-Type of Render()'s output.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  friend class MetricFamily;
  absl::Status CheckNew(std::string_view name, const std::vector<std::string>& label_names,
                        bool histogram) const;
  void CountDropped(const std::string& family);

  Options options_;
  std::mutex collect_mu_;  // one scrape at a time runs the collectors
  std::vector<std::function<void()>> collectors_;
  mutable std::mutex mu_;  // guards families_ and collectors_
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;
  CounterFamily* dropped_ = nullptr;
};

// Prometheus label value escaping: backslash, double quote and line feed.
[[nodiscard]] std::string EscapeLabelValue(std::string_view value);
// A sample value as Prometheus reads it: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
[[nodiscard]] std::string FormatMetricValue(double value);

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_METRICS_H_
