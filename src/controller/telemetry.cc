#include "controller/telemetry.h"

#include <algorithm>
#include <deque>
#include <set>
#include <string_view>
#include <tuple>

#include "common/json.h"
#include "common/pci_address.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/inventory.h"

namespace gpufleet::controller {
namespace {

constexpr std::size_t kMaxGpus = 64;
constexpr std::size_t kMaxVgpus = 64;
constexpr std::size_t kMaxSensors = 64;
constexpr std::size_t kMaxNameLength = 64;
constexpr double kMaxFramebufferMib = 4194304;  // 4 TiB
constexpr double kBytesPerMib = 1048576;

absl::Status Invalid(std::string_view field, std::string_view why) {
  return WithField(absl::InvalidArgumentError(StrCat(field, ": ", why)), field);
}

// A number in [min, max] under `key` of `j`, read through `r` (which records the error).
std::optional<double> Number(JsonReader& r, const nlohmann::json& j, const std::string& key,
                             double min, double max, bool required = false) {
  r.Ignore(key);
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) r.Fail(key, "required field is missing");
    return std::nullopt;
  }
  if (!it->is_number() || it->get<double>() < min || it->get<double>() > max) {
    r.Fail(key, StrCat("expected a number from ", api::FormatMetricValue(min), " to ",
                       api::FormatMetricValue(max), ", got ", DescribeJson(*it)));
    return std::nullopt;
  }
  return it->get<double>();
}

absl::Status CheckId(const std::string& id, const std::string& field) {
  if (id.empty() || id.size() > kMaxNameLength) return Invalid(field, "must be 1 to 64 characters");
  return absl::OkStatus();
}

template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v.has_value() ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

absl::StatusOr<std::vector<VgpuReading>> DecodeVgpus(const nlohmann::json* list,
                                                     const std::string& path) {
  std::vector<VgpuReading> out;
  if (list == nullptr) return out;
  if (list->size() > kMaxVgpus) return Invalid(path, "more than 64 vGPUs");
  std::set<Uuid> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string item = StrCat(path, "[", i, "]");
    const nlohmann::json& j = (*list)[i];
    if (!j.is_object()) return Invalid(item, "expected an object");
    JsonReader r(j, item);
    const std::string uuid = r.String("uuid");
    VgpuReading v;
    v.utilisation_pct = Number(r, j, "utilisation_pct", 0, 100);
    v.framebuffer_used_mib = Number(r, j, "framebuffer_used_mib", 0, kMaxFramebufferMib);
    GPUFLEET_RETURN_IF_ERROR(r.Finish());
    absl::StatusOr<Uuid> parsed = Uuid::Parse(uuid);
    if (!parsed.ok()) {
      return Invalid(r.PathOf("uuid"), StrCat("not a UUID: ", QuoteForMessage(uuid)));
    }
    if (!seen.insert(*parsed).second) {
      return Invalid(r.PathOf("uuid"), StrCat("vGPU ", parsed->ToString(), " is listed twice"));
    }
    v.uuid = *parsed;
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<GpuReading> DecodeGpuReading(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) return Invalid(path, "expected an object");
  JsonReader r(j, path);
  GpuReading g;
  g.gpu = r.String("gpu");
  g.temperature_c = Number(r, j, "temperature_c", -50, 200);
  g.utilisation_pct = Number(r, j, "utilisation_pct", 0, 100);
  g.framebuffer_used_mib = Number(r, j, "framebuffer_used_mib", 0, kMaxFramebufferMib);
  g.framebuffer_total_mib = Number(r, j, "framebuffer_total_mib", 0, kMaxFramebufferMib);
  g.power_w = Number(r, j, "power_w", 0, 10000);
  g.xid = r.OptInt("xid", 0, 1000000);
  g.lost = r.OptBool("lost").value_or(false);
  const nlohmann::json* vgpus = r.Array("vgpus", /*required=*/false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  GPUFLEET_ASSIGN_OR_RETURN(g.vgpus, DecodeVgpus(vgpus, r.PathOf("vgpus")));
  GPUFLEET_RETURN_IF_ERROR(CheckId(g.gpu, r.PathOf("gpu")));
  if (absl::StatusOr<PciAddress> pci = PciAddress::Parse(g.gpu); pci.ok()) g.gpu = pci->ToString();
  return g;
}

// A list of {"name": NAME, <value>} under `path`; `read` reads the value through the item's
// reader.
template <typename T, typename Read>
absl::StatusOr<std::vector<std::pair<std::string, T>>> DecodeNamed(const nlohmann::json* list,
                                                                   const std::string& path,
                                                                   Read read) {
  std::vector<std::pair<std::string, T>> out;
  if (list == nullptr) return out;
  if (list->size() > kMaxSensors) return Invalid(path, "more than 64 entries");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string item = StrCat(path, "[", i, "]");
    if (!(*list)[i].is_object()) return Invalid(item, "expected an object");
    JsonReader r((*list)[i], item);
    std::string name = r.String("name");
    T value = read(r, (*list)[i]);
    GPUFLEET_RETURN_IF_ERROR(r.Finish());
    GPUFLEET_RETURN_IF_ERROR(CheckId(name, r.PathOf("name")));
    out.emplace_back(std::move(name), value);
  }
  return out;
}

absl::StatusOr<BmcReading> DecodeBmc(const nlohmann::json& j) {
  if (!j.is_object()) return Invalid("bmc", "expected an object");
  JsonReader r(j, "bmc");
  BmcReading b;
  const nlohmann::json* temperatures = r.Array("temperatures", false);
  const nlohmann::json* fans = r.Array("fans", false);
  b.automatic = r.Bool("automatic");
  // -1 is how agents say "no manual duty" (automatic control).
  b.duty_pct = Number(r, j, "duty_pct", -1, 100);
  if (b.duty_pct == -1.0) b.duty_pct.reset();
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  GPUFLEET_ASSIGN_OR_RETURN(
      b.temperatures,
      DecodeNamed<double>(temperatures, "bmc.temperatures",
                          [](JsonReader& item, const nlohmann::json& object) {
                            return Number(item, object, "celsius", -50, 200, true).value_or(0);
                          }));
  GPUFLEET_ASSIGN_OR_RETURN(
      b.fans, DecodeNamed<int>(fans, "bmc.fans", [](JsonReader& item, const nlohmann::json&) {
        return item.Int("rpm", 0, 1000000);
      }));
  return b;
}

nlohmann::json GpuReadingJson(const GpuReading& g) {
  nlohmann::json vgpus = nlohmann::json::array();
  for (const VgpuReading& v : g.vgpus) {
    vgpus.push_back({{"uuid", v.uuid.ToString()},
                     {"utilisation_pct", OrNull(v.utilisation_pct)},
                     {"framebuffer_used_mib", OrNull(v.framebuffer_used_mib)}});
  }
  return {{"gpu", g.gpu},
          {"temperature_c", OrNull(g.temperature_c)},
          {"utilisation_pct", OrNull(g.utilisation_pct)},
          {"framebuffer_used_mib", OrNull(g.framebuffer_used_mib)},
          {"framebuffer_total_mib", OrNull(g.framebuffer_total_mib)},
          {"power_w", OrNull(g.power_w)},
          {"xid", OrNull(g.xid)},
          {"lost", g.lost},
          {"vgpus", std::move(vgpus)}};
}

nlohmann::json BmcJson(const BmcReading& b) {
  nlohmann::json temperatures = nlohmann::json::array();
  for (const auto& [name, celsius] : b.temperatures) {
    temperatures.push_back({{"name", name}, {"celsius", celsius}});
  }
  nlohmann::json fans = nlohmann::json::array();
  for (const auto& [name, rpm] : b.fans) fans.push_back({{"name", name}, {"rpm", rpm}});
  return {{"temperatures", temperatures},
          {"fans", fans},
          {"automatic", b.automatic},
          {"duty_pct", OrNull(b.duty_pct)}};
}

}  // namespace

struct Telemetry::Point {
  absl::Time time;
  std::optional<double> temperature_c;
  std::optional<double> utilisation_pct;
  std::optional<double> framebuffer_used_mib;
};

struct Telemetry::Series {
  std::string board;
  absl::Time last;
  GpuReading latest;
  std::deque<Point> points;
};

// The BMC's history: the fan duty it runs at (when gpufleet sets it), the mean fan speed and the
// hottest sensor it sees.
struct Telemetry::FanPoint {
  absl::Time time;
  std::optional<double> duty_pct;
  std::optional<double> fan_rpm;
  std::optional<double> hottest_c;
};

struct Telemetry::HostSeries {
  std::map<std::string, Series, std::less<>> gpus;
  std::optional<BmcReading> bmc;
  absl::Time bmc_time;
  std::deque<FanPoint> fan_points;
};

namespace {

Telemetry::FanPoint FanPointOf(absl::Time now, const BmcReading& bmc) {
  Telemetry::FanPoint p{now, std::nullopt, std::nullopt, std::nullopt};
  if (!bmc.automatic && bmc.duty_pct.has_value() && *bmc.duty_pct >= 0) p.duty_pct = bmc.duty_pct;
  if (!bmc.fans.empty()) {
    double sum = 0;
    for (const auto& [name, rpm] : bmc.fans) sum += rpm;
    p.fan_rpm = sum / static_cast<double>(bmc.fans.size());
  }
  for (const auto& [name, celsius] : bmc.temperatures) {
    if (!p.hottest_c.has_value() || celsius > *p.hottest_c) p.hottest_c = celsius;
  }
  return p;
}

}  // namespace

nlohmann::json TelemetryReport::ToJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const GpuReading& g : gpus) list.push_back(GpuReadingJson(g));
  return {{"gpus", list}, {"bmc", bmc.has_value() ? BmcJson(*bmc) : nlohmann::json(nullptr)}};
}

absl::StatusOr<TelemetryReport> DecodeTelemetryReport(const nlohmann::json& body) {
  if (!body.is_object()) return Invalid("body", "expected a JSON object");
  JsonReader r(body, "");
  const nlohmann::json* gpus = r.Array("gpus");
  const nlohmann::json* bmc = r.Object("bmc", false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  if (gpus->size() > kMaxGpus) return Invalid("gpus", "more than 64 GPUs");
  TelemetryReport report;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < gpus->size(); ++i) {
    const std::string path = StrCat("gpus[", i, "]");
    GPUFLEET_ASSIGN_OR_RETURN(GpuReading g, DecodeGpuReading((*gpus)[i], path));
    if (!seen.insert(g.gpu).second) {
      return Invalid(StrCat(path, ".gpu"), StrCat("GPU ", g.gpu, " is listed twice"));
    }
    report.gpus.push_back(std::move(g));
  }
  if (bmc != nullptr) {
    GPUFLEET_ASSIGN_OR_RETURN(report.bmc, DecodeBmc(*bmc));
  }
  return report;
}

Telemetry::Telemetry(Context context, TelemetryOptions options)
    : context_(context), options_(options) {}

Telemetry::~Telemetry() = default;

absl::Status Telemetry::AddRoutes(api::Router& router) {
  using api::Access;
  GPUFLEET_RETURN_IF_ERROR(router.Add("POST", "/api/v1/hosts/{host}/telemetry",
                                      Access::AgentOwnHost("host").Or(api::Role::kAdmin),
                                      [this](const api::Request& r) { return Post(r); }));
  return router.Add("GET", "/api/v1/hosts/{host}/telemetry", Access::Viewer(),
                    [this](const api::Request& r) { return Get(r); });
}

absl::Status Telemetry::Record(const std::string& host, const TelemetryReport& report,
                               const std::map<std::string, std::string, std::less<>>& board_of,
                               const std::map<Uuid, std::pair<std::string, std::string>>& desired) {
  for (std::size_t i = 0; i < report.gpus.size(); ++i) {
    if (!board_of.contains(report.gpus[i].gpu)) {
      return Invalid(StrCat("gpus[", i, "].gpu"),
                     StrCat("host ", host, " has no GPU ", QuoteForMessage(report.gpus[i].gpu)));
    }
  }
  const absl::Time now = context_.clock->Now();
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<HostSeries>& h = hosts_[host];
  if (h == nullptr) h = std::make_unique<HostSeries>();
  for (const GpuReading& g : report.gpus) {
    Series& s = h->gpus[g.gpu];
    s.board = board_of.find(g.gpu)->second;
    s.last = now;
    s.latest = g;
    for (VgpuReading& v : s.latest.vgpus) {
      auto d = desired.find(v.uuid);
      if (d != desired.end()) std::tie(v.vm, v.type) = d->second;
    }
    AddPoint(s.points, Point{now, g.temperature_c, g.utilisation_pct, g.framebuffer_used_mib});
  }
  if (report.bmc.has_value()) {
    h->bmc = report.bmc;
    h->bmc_time = now;
    AddPoint(h->fan_points, FanPointOf(now, *report.bmc));
  }
  // Hosts that stopped reporting are forgotten by a pass over every host, at most once per
  // spacing, so that a report costs its own GPUs only.
  if (now - last_prune_ >= options_.spacing) PruneLocked(now);
  return absl::OkStatus();
}

template <typename P>
void Telemetry::AddPoint(std::deque<P>& points, P p) const {
  // A point every `spacing`: readings in between replace the last point's values.
  if (!points.empty() && p.time - points.back().time < options_.spacing) {
    p.time = points.back().time;
    points.back() = p;
  } else {
    points.push_back(p);
  }
  Trim(points, p.time);
}

template <typename P>
void Telemetry::Trim(std::deque<P>& points, absl::Time now) const {
  while (!points.empty() &&
         (points.size() > options_.max_points || now - points.front().time > options_.window)) {
    points.pop_front();
  }
}

void Telemetry::PruneLocked(absl::Time now) {
  last_prune_ = now;
  for (auto host = hosts_.begin(); host != hosts_.end();) {
    HostSeries& h = *host->second;
    for (auto gpu = h.gpus.begin(); gpu != h.gpus.end();) {
      Trim(gpu->second.points, now);
      gpu = gpu->second.points.empty() ? h.gpus.erase(gpu) : std::next(gpu);
    }
    Trim(h.fan_points, now);
    if (h.bmc.has_value() && now - h.bmc_time > options_.window) h.bmc.reset();
    host = h.gpus.empty() && !h.bmc.has_value() ? hosts_.erase(host) : std::next(host);
  }
}

nlohmann::json Telemetry::HostJson(const std::string& host) {
  nlohmann::json gpus = nlohmann::json::array();
  nlohmann::json bmc = nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  PruneLocked(context_.clock->Now());
  auto it = hosts_.find(host);
  if (it != hosts_.end()) {
    for (const auto& [id, s] : it->second->gpus) {
      nlohmann::json samples = nlohmann::json::array();
      for (const Point& p : s.points) {
        samples.push_back({{"time", TimeText(p.time)},
                           {"temperature_c", OrNull(p.temperature_c)},
                           {"utilisation_pct", OrNull(p.utilisation_pct)},
                           {"framebuffer_used_mib", OrNull(p.framebuffer_used_mib)}});
      }
      nlohmann::json latest = GpuReadingJson(s.latest);
      latest["time"] = TimeText(s.last);
      for (std::size_t i = 0; i < s.latest.vgpus.size(); ++i) {
        const VgpuReading& v = s.latest.vgpus[i];
        latest["vgpus"][i]["vm"] = v.vm.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.vm);
        latest["vgpus"][i]["type"] =
            v.type.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.type);
      }
      gpus.push_back({{"gpu", id}, {"board", s.board}, {"latest", latest}, {"samples", samples}});
    }
    if (it->second->bmc.has_value()) {
      bmc = BmcJson(*it->second->bmc);
      bmc["time"] = TimeText(it->second->bmc_time);
      nlohmann::json samples = nlohmann::json::array();
      for (const FanPoint& p : it->second->fan_points) {
        samples.push_back({{"time", TimeText(p.time)},
                           {"duty_pct", OrNull(p.duty_pct)},
                           {"fan_rpm", OrNull(p.fan_rpm)},
                           {"hottest_c", OrNull(p.hottest_c)}});
      }
      bmc["samples"] = std::move(samples);
    }
  }
  return {{"host", host}, {"gpus", gpus}, {"bmc", bmc}};
}

api::Response Telemetry::Post(const api::Request& request) {
  const std::string host(request.PathParam("host"));
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<TelemetryReport> report = DecodeTelemetryReport(*body);
  if (!report.ok()) return api::Response::Error(report.status());
  std::map<std::string, std::string, std::less<>> board_of;
  std::map<Uuid, std::pair<std::string, std::string>> desired;
  const bool any_vgpus = std::any_of(report->gpus.begin(), report->gpus.end(),
                                     [](const GpuReading& g) { return !g.vgpus.empty(); });
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_RETURN_IF_ERROR(tx.GetHost(host).status());
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(host));
    board_of.clear();
    desired.clear();
    for (const store::Gpu& g : gpus) board_of[g.id] = g.board;
    if (!any_vgpus) return absl::OkStatus();
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> instances,
                              tx.ListDesiredInstances({.host = host, .gpu = "", .vm = ""}));
    for (const store::DesiredInstance& d : instances) desired[d.uuid] = {d.vm, d.type};
    return absl::OkStatus();
  });
  if (s.ok()) s = Record(host, *report, board_of, desired);
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::NoContent();
}

api::Response Telemetry::Get(const api::Request& request) {
  const std::string host(request.PathParam("host"));
  absl::Status s = context_.store->Read(
      [&](store::ReadTx& tx) -> absl::Status { return tx.GetHost(host).status(); });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(HostJson(host));
}

absl::Status Telemetry::RegisterMetrics(api::MetricsRegistry& metrics) {
  const std::vector<std::string> gpu_labels = {"host", "gpu", "board"};
  GPUFLEET_ASSIGN_OR_RETURN(
      temperature_,
      metrics.AddGauge("gpufleet_gpu_temperature_celsius",
                       "GPU temperature as the host's agent last reported it", gpu_labels));
  GPUFLEET_ASSIGN_OR_RETURN(
      utilization_,
      metrics.AddGauge("gpufleet_gpu_utilization_ratio",
                       "GPU utilisation (0 to 1) as the agent last reported it", gpu_labels));
  GPUFLEET_ASSIGN_OR_RETURN(
      framebuffer_,
      metrics.AddGauge("gpufleet_gpu_framebuffer_used_bytes",
                       "GPU framebuffer in use as the agent last reported it", gpu_labels));
  GPUFLEET_ASSIGN_OR_RETURN(
      lost_,
      metrics.AddGauge("gpufleet_gpu_lost",
                       "1 when the agent reports the GPU fallen off the bus, else 0", gpu_labels));
  GPUFLEET_ASSIGN_OR_RETURN(
      fan_duty_, metrics.AddGauge("gpufleet_host_fan_duty_ratio",
                                  "Fan duty (0 to 1) the host's BMC last reported", {"host"}));
  const std::vector<std::string> vgpu_labels = {"host", "gpu", "vm", "vgpu_type"};
  GPUFLEET_ASSIGN_OR_RETURN(
      vgpu_utilization_,
      metrics.AddGauge("gpufleet_vgpu_utilization_ratio",
                       "A vGPU's share of its physical GPU (0 to 1) as the agent last reported it",
                       vgpu_labels));
  GPUFLEET_ASSIGN_OR_RETURN(
      vgpu_framebuffer_,
      metrics.AddGauge("gpufleet_vgpu_framebuffer_used_bytes",
                       "A vGPU's framebuffer in use as the agent last reported it", vgpu_labels));
  metrics.AddCollector([this] { CollectMetrics(); });
  return absl::OkStatus();
}

void Telemetry::CollectMetrics() {
  using Samples = std::vector<std::pair<api::LabelValues, double>>;
  Samples temperature, utilization, framebuffer, lost, fan_duty, vgpu_utilization, vgpu_framebuffer;
  const absl::Time now = context_.clock->Now();
  const absl::Duration fresh = kMissedHeartbeats * options_.heartbeat_interval;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [host, h] : hosts_) {
      for (const auto& [id, s] : h->gpus) {
        if (now - s.last > fresh) continue;
        const api::LabelValues labels = {host, id, s.board};
        const GpuReading& g = s.latest;
        if (g.temperature_c) temperature.push_back({labels, *g.temperature_c});
        if (g.utilisation_pct) utilization.push_back({labels, *g.utilisation_pct / 100});
        if (g.framebuffer_used_mib) {
          framebuffer.push_back({labels, *g.framebuffer_used_mib * kBytesPerMib});
        }
        lost.push_back({labels, g.lost ? 1.0 : 0.0});
        for (const VgpuReading& v : g.vgpus) {
          if (v.vm.empty()) continue;  // not desired here: no VM to name
          const api::LabelValues vl = {host, id, v.vm, v.type};
          if (v.utilisation_pct) vgpu_utilization.push_back({vl, *v.utilisation_pct / 100});
          if (v.framebuffer_used_mib) {
            vgpu_framebuffer.push_back({vl, *v.framebuffer_used_mib * kBytesPerMib});
          }
        }
      }
      if (h->bmc && h->bmc->duty_pct && now - h->bmc_time <= fresh) {
        fan_duty.push_back({{host}, *h->bmc->duty_pct / 100});
      }
    }
  }
  temperature_->ReplaceAll(temperature);
  utilization_->ReplaceAll(utilization);
  framebuffer_->ReplaceAll(framebuffer);
  lost_->ReplaceAll(lost);
  fan_duty_->ReplaceAll(fan_duty);
  vgpu_utilization_->ReplaceAll(vgpu_utilization);
  vgpu_framebuffer_->ReplaceAll(vgpu_framebuffer);
}

}  // namespace gpufleet::controller
