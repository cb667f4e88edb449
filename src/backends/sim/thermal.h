#ifndef GPUFLEET_BACKENDS_SIM_THERMAL_H_
#define GPUFLEET_BACKENDS_SIM_THERMAL_H_

#include <string_view>

#include "absl/time/time.h"
#include "backends/sim/scenario.h"

namespace gpufleet::backends::sim {

// The simulator's thermal model, pure functions. A GPU draws
//   P = 0.2 * TDP + 0.8 * TDP * utilisation
// and is cooled by the chassis fans with a conductance that grows with their duty,
//   G(duty) = TDP / 250 W * (2.7 + 2.9 * duty / 100)  W/K,
// so its steady state is inlet + P / G: a 250 W P40 at full load sits near 67 C with the fans at
// 100 % and near 98 C at the 20 % a BMC's automatic curve often keeps. Its temperature approaches
// the steady state exponentially with the scenario's time constant. The numbers are chosen to be
// plausible for a passively cooled card in a 2U server, not measured.

[[nodiscard]] double PowerW(double tdp_w, double utilisation_pct);
[[nodiscard]] double SteadyStateC(double inlet_c, double tdp_w, double utilisation_pct,
                                  int duty_pct);
// The temperature after `dt` of a first-order approach from `from_c` towards `steady_c`.
[[nodiscard]] double Approach(double from_c, double steady_c, absl::Duration dt,
                              absl::Duration time_constant);
// The BMC's automatic duty for a sensed temperature (BmcSpec's curve).
[[nodiscard]] int AutomaticDuty(const BmcSpec& bmc, double sensed_c);
[[nodiscard]] int FanRpm(const BmcSpec& bmc, int duty_pct);
// A board's TDP where the scenario gives none (a few boards known, else 250 W).
[[nodiscard]] double DefaultTdpW(std::string_view board_prefix);

}  // namespace gpufleet::backends::sim

#endif  // GPUFLEET_BACKENDS_SIM_THERMAL_H_
