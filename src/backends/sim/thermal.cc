#include "backends/sim/thermal.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace gpufleet::backends::sim {

double PowerW(double tdp_w, double utilisation_pct) {
  return tdp_w * (0.2 + 0.8 * std::clamp(utilisation_pct, 0.0, 100.0) / 100.0);
}

double SteadyStateC(double inlet_c, double tdp_w, double utilisation_pct, int duty_pct) {
  const double conductance = tdp_w / 250.0 * (2.7 + 2.9 * std::clamp(duty_pct, 0, 100) / 100.0);
  return inlet_c + PowerW(tdp_w, utilisation_pct) / conductance;
}

double Approach(double from_c, double steady_c, absl::Duration dt, absl::Duration time_constant) {
  if (time_constant <= absl::ZeroDuration()) return steady_c;
  const double k = std::exp(-absl::FDivDuration(dt, time_constant));
  return steady_c + (from_c - steady_c) * k;
}

int AutomaticDuty(const BmcSpec& bmc, double sensed_c) {
  const double duty = bmc.min_duty + (sensed_c - 25.0) * bmc.duty_per_c;
  return std::clamp(static_cast<int>(std::lround(duty)), bmc.min_duty, 100);
}

int FanRpm(const BmcSpec& bmc, int duty_pct) {
  return static_cast<int>(std::lround(bmc.max_rpm * std::clamp(duty_pct, 0, 100) / 100.0));
}

double DefaultTdpW(std::string_view board_prefix) {
  // Per physical GPU, from the boards' data sheets (A16: 250 W over its four GPUs).
  static const auto* const kTdp = new std::map<std::string, double, std::less<>>{
      {"P40", 250},  {"T4", 70},     {"A16", 62.5}, {"L40S", 350}, {"L40", 300},
      {"A100", 250}, {"A100D", 300}, {"A10", 150},  {"A40", 300},  {"V100", 250}};
  auto it = kTdp->find(board_prefix);
  return it == kTdp->end() ? 250.0 : it->second;
}

}  // namespace gpufleet::backends::sim
