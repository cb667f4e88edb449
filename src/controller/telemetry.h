#ifndef GPUFLEET_CONTROLLER_TELEMETRY_H_
#define GPUFLEET_CONTROLLER_TELEMETRY_H_

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/metrics.h"
#include "api/router.h"
#include "common/uuid.h"
#include "controller/context.h"
#include "nlohmann/json.hpp"

namespace gpufleet::controller {

// One vGPU's share of its GPU, where the backend can tell (NVML's per-vGPU utilisation).
struct VgpuReading {
  Uuid uuid{};
  std::optional<double> utilisation_pct{};       // 0..100 of the physical GPU
  std::optional<double> framebuffer_used_mib{};  // 0..2^22
  // Filled by the controller from the desired state when it records the reading (not on the
  // wire): the VM and type the vGPU is desired for on this host; empty when it is not.
  std::string vm{};
  std::string type{};
};

// One GPU's reading as the agent sends it. Absent values are unknown.
struct GpuReading {
  std::string gpu{};                              // as reported; a PCI address comes back canonical
  std::optional<double> temperature_c{};          // -50..200
  std::optional<double> utilisation_pct{};        // 0..100
  std::optional<double> framebuffer_used_mib{};   // 0..2^22
  std::optional<double> framebuffer_total_mib{};  // 0..2^22
  std::optional<double> power_w{};                // 0..10000
  std::optional<int> xid{};                       // the last Xid error, 0..1000000
  bool lost = false;                              // fallen off the bus
  std::vector<VgpuReading> vgpus{};               // at most 64, no UUID twice
};

// The BMC's view of the host's cooling.
struct BmcReading {
  std::vector<std::pair<std::string, double>> temperatures;  // sensor name, Celsius
  std::vector<std::pair<std::string, int>> fans;             // fan name, rpm
  bool automatic = true;                                     // the BMC controls the fans itself
  std::optional<double> duty_pct;  // the manual duty, 0..100; -1 or absent when automatic
};

// The body of POST /api/v1/hosts/{host}/telemetry:
//   {"gpus": [{"gpu": PCI, "temperature_c"?, "utilisation_pct"?, "framebuffer_used_mib"?,
//              "framebuffer_total_mib"?, "power_w"?, "xid"?, "lost"?,
//              "vgpus"?: [{"uuid", "utilisation_pct"?, "framebuffer_used_mib"?}]}, ...],
//                                                                            at most 64
//    "bmc"?: {"temperatures"?: [{"name", "celsius"}], "fans"?: [{"name", "rpm"}],
//             "automatic": BOOL, "duty_pct"?: -1..100}}   (-1: none)   at most 64 of each list
struct TelemetryReport {
  std::vector<GpuReading> gpus;
  std::optional<BmcReading> bmc;

  // The canonical JSON form (absent values as null).
  [[nodiscard]] nlohmann::json ToJson() const;
};

// Decodes and checks the shape of a report (ranges, no GPU twice, names 1..64 characters).
// Whether the GPUs exist on the host is the caller's question. Errors are InvalidArgument naming
// the field ("gpus[2].temperature_c: ...").
absl::StatusOr<TelemetryReport> DecodeTelemetryReport(const nlohmann::json& body);

struct TelemetryOptions {
  // The agents' heartbeat interval: readings older than kMissedHeartbeats of them are not
  // exported as metrics.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // The history kept per GPU for the dashboard: points at least `spacing` apart (readings in
  // between update the last point), at most `max_points`, none older than `window`.
  absl::Duration spacing = absl::Seconds(10);
  absl::Duration window = absl::Hours(1);
  std::size_t max_points = 360;
};

// GPU and BMC telemetry, kept in memory only (never the store): the latest reading of each GPU
// and of each host's BMC, and a bounded history per GPU. A restart starts empty. Thread-safe.
//
// Memory is bounded: only GPUs the host has in the inventory are accepted, a GPU keeps at most
// max_points points, and a GPU (or BMC) not heard from for `window` is forgotten.
//
// Routes:
//   POST /api/v1/hosts/{host}/telemetry  the agent of {host}, or admin: a TelemetryReport; 204.
//                                        400 naming the field for a GPU the host does not have;
//                                        404 for an unknown host.
//   GET  /api/v1/hosts/{host}/telemetry  viewer: {host, gpus: [{gpu, board, latest, samples:
//                                        [{time, temperature_c, utilisation_pct,
//                                        framebuffer_used_mib}]}], bmc: {latest reading, time,
//                                        samples: [{time, duty_pct, fan_rpm, hottest_c}]} | null}
class Telemetry {
 public:
  Telemetry(Context context, TelemetryOptions options);
  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  absl::Status AddRoutes(api::Router& router);

  // gpufleet_gpu_temperature_celsius, gpufleet_gpu_utilization_ratio (0..1),
  // gpufleet_gpu_framebuffer_used_bytes, gpufleet_gpu_lost (0/1), all {host,gpu,board}, and
  // gpufleet_host_fan_duty_ratio{host} (0..1), gpufleet_vgpu_utilization_ratio and
  // gpufleet_vgpu_framebuffer_used_bytes {host,gpu,vm,vgpu_type} (vGPUs desired on the host),
  // from readings younger than kMissedHeartbeats heartbeat intervals.
  absl::Status RegisterMetrics(api::MetricsRegistry& metrics);

  // Records `report` of `host` at the clock's now. `board_of` maps each GPU id of the host to its
  // board; a GPU not in it is InvalidArgument naming "gpus[i].gpu". `desired` maps the UUIDs of
  // the vGPUs desired on the host to their VM and type (the labels of the per-vGPU metrics).
  absl::Status Record(const std::string& host, const TelemetryReport& report,
                      const std::map<std::string, std::string, std::less<>>& board_of,
                      const std::map<Uuid, std::pair<std::string, std::string>>& desired = {});

  // The GET body for `host` (empty lists when nothing was recorded).
  [[nodiscard]] nlohmann::json HostJson(const std::string& host);

 public:
  struct FanPoint;

 private:
  struct Point;
  struct Series;
  struct HostSeries;

  api::Response Post(const api::Request& request);
  api::Response Get(const api::Request& request);
  void CollectMetrics();
  // Appends a point (or updates the last one, within `spacing`) and trims.
  template <typename P>
  void AddPoint(std::deque<P>& points, P p) const;
  // Drops the points beyond max_points or older than `window`.
  template <typename P>
  void Trim(std::deque<P>& points, absl::Time now) const;
  // Trims every GPU's points and drops what has not been heard from for `window`. Call with mu_
  // held.
  void PruneLocked(absl::Time now);

  Context context_;
  TelemetryOptions options_;
  api::GaugeFamily* temperature_ = nullptr;
  api::GaugeFamily* utilization_ = nullptr;
  api::GaugeFamily* framebuffer_ = nullptr;
  api::GaugeFamily* lost_ = nullptr;
  api::GaugeFamily* fan_duty_ = nullptr;
  api::GaugeFamily* vgpu_utilization_ = nullptr;
  api::GaugeFamily* vgpu_framebuffer_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<HostSeries>, std::less<>> hosts_;  // guarded by mu_
  absl::Time last_prune_ = absl::InfinitePast();                           // guarded by mu_
};

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_TELEMETRY_H_
