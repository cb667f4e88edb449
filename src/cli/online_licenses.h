#ifndef GPUFLEET_CLI_ONLINE_LICENSES_H_
#define GPUFLEET_CLI_ONLINE_LICENSES_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

struct LicensesOptions {
  enum class What { kShow, kPoolSet, kPoolDelete };
  What what = What::kShow;
  std::string pool;
  std::string edition;
  int seats = 0;
};

// `gpufleet licenses`: seats per edition, the pools, and every VM's seat with its lease
// (unlicensed and expiring guests first); `licenses pool set NAME --edition E --seats N` and
// `licenses pool delete NAME` (role admin).
absl::Status RunLicenses(Context& ctx, const LicensesOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_LICENSES_H_
