#include "api/metrics.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, ExpositionFormat) {
  MetricsRegistry reg;
  CounterFamily* c =
      *reg.AddCounter("test_requests_total", "Requests.\nSecond line \\ done", {"path", "code"});
  c->Add({"/a\"b\\c\nd", "200"}, 2);
  c->Add({"/", "500"});
  GaugeFamily* g = *reg.AddGauge("test_temperature_celsius", "GPU temperature.", {"gpu"});
  g->Set({"gone"}, 99);
  reg.AddCollector([g] { g->ReplaceAll({{{"0000:af:00.0"}, 38}, {{"0000:3b:00.0"}, 41.5}}); });
  HistogramFamily* h = *reg.AddHistogram("test_latency_seconds", "Latency.", {"route"}, {0.1, 1});
  h->Observe({"/x"}, 0.25);
  h->Observe({"/x"}, 0.5);
  h->Observe({"/x"}, 0.1);
  h->Observe({"/x"}, 3);
  ASSERT_TRUE(reg.AddCounter("test_unlabelled_total", "No labels.").ok());

  EXPECT_EQ(reg.Render(),
            "# HELP gpufleet_metrics_dropped_samples_total Samples dropped because their family "
            "reached its series limit or had the wrong labels.\n"
            "# TYPE gpufleet_metrics_dropped_samples_total counter\n"
            "# HELP test_latency_seconds Latency.\n"
            "# TYPE test_latency_seconds histogram\n"
            "test_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"
            "test_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "test_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
            "test_latency_seconds_sum{route=\"/x\"} 3.85\n"
            "test_latency_seconds_count{route=\"/x\"} 4\n"
            "# HELP test_requests_total Requests.\\nSecond line \\\\ done\n"
            "# TYPE test_requests_total counter\n"
            "test_requests_total{path=\"/\",code=\"500\"} 1\n"
            "test_requests_total{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 2\n"
            "# HELP test_temperature_celsius GPU temperature.\n"
            "# TYPE test_temperature_celsius gauge\n"
            "test_temperature_celsius{gpu=\"0000:3b:00.0\"} 41.5\n"
            "test_temperature_celsius{gpu=\"0000:af:00.0\"} 38\n"
            "# HELP test_unlabelled_total No labels.\n"
            "# TYPE test_unlabelled_total counter\n"
            "test_unlabelled_total 0\n");
}

TEST(MetricsTest, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1.5), "1.5");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
  EXPECT_EQ(FormatMetricValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatMetricValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatMetricValue(0.0 / 0.0), "NaN");
}

TEST(MetricsTest, CardinalityIsBounded) {
  MetricsRegistry reg(MetricsRegistry::Options{.max_series_per_family = 2});
  CounterFamily* c = *reg.AddCounter("x_total", "X.", {"k"});
  c->Add({"a"});
  c->Add({"b"});
  c->Add({"c"});
  c->Add({"d"});
  c->Add({"a"}, 5);         // existing series keep counting
  c->Add({"too", "many"});  // wrong label count is dropped too
  EXPECT_EQ(c->series_count(), 2u);
  EXPECT_EQ(c->Value({"a"}), 6);
  std::string out = reg.Render();
  EXPECT_THAT(out, Not(HasSubstr("k=\"c\"")));
  EXPECT_THAT(out, HasSubstr("gpufleet_metrics_dropped_samples_total{family=\"x_total\"} 3\n"));
}

TEST(MetricsTest, GaugeReplaceAllRespectsTheBound) {
  MetricsRegistry reg(MetricsRegistry::Options{.max_series_per_family = 1});
  GaugeFamily* g = *reg.AddGauge("g", "G.", {"k"});
  g->ReplaceAll({{{"a"}, 1}, {{"b"}, 2}});
  EXPECT_EQ(g->series_count(), 1u);
  EXPECT_EQ(g->Value({"a"}), 1);
}

TEST(MetricsTest, RegistrationRules) {
  MetricsRegistry reg;
  CounterFamily* c = *reg.AddCounter("a_total", "A.", {"x"});
  EXPECT_EQ(*reg.AddCounter("a_total", "A again.", {"x"}), c);
  EXPECT_EQ(reg.AddCounter("a_total", "A.", {"y"}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(reg.AddGauge("a_total", "A.", {"x"}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(reg.AddCounter("1bad", "B.").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.AddCounter("b-c", "B.").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.AddCounter("ok", "B.", {"__x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.AddCounter("ok", "B.", {"a", "a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.AddHistogram("h", "H.", {"le"}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.AddHistogram("h", "H.", {}, {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  HistogramFamily* h = *reg.AddHistogram("h", "H.", {}, {1, 2});
  EXPECT_EQ(*reg.AddHistogram("h", "H.", {}, {1, 2}), h);
  EXPECT_EQ(reg.AddHistogram("h", "H.", {}, {1, 3}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MetricsTest, CountersIgnoreNegativeDeltas) {
  MetricsRegistry reg;
  CounterFamily* c = *reg.AddCounter("c_total", "C.");
  c->Add({}, -1);
  c->Add({}, 0.0 / 0.0);
  c->Add({}, 2);
  EXPECT_EQ(c->Value({}), 2);
}

TEST(MetricsTest, ConcurrentUpdatesAndScrapes) {
  MetricsRegistry reg;
  CounterFamily* c = *reg.AddCounter("c_total", "C.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        c->Add({std::to_string(t % 2)});
        if (i % 100 == 0) (void)reg.Render();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->Value({"0"}) + c->Value({"1"}), 4000);
}

}  // namespace
}  // namespace gpufleet::api
