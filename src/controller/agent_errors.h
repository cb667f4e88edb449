#ifndef GPUFLEET_CONTROLLER_AGENT_ERRORS_H_
#define GPUFLEET_CONTROLLER_AGENT_ERRORS_H_

// The problems an agent reports with its instances (`errors` in PUT
// /api/v1/hosts/{host}/instances): backend or controller calls that failed on the host since
// its last report, each with how often. The controller records an `agent.error` event the first
// time a host reports a message (again once it has not been reported for an hour) and keeps the
// recent ones in memory for GET /api/v1/hosts/{host}/instances and `gpufleet host instances`.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace gpufleet::controller {

// At most this many per report and kept per host; longer messages are refused.
inline constexpr std::size_t kMaxAgentErrors = 16;
inline constexpr std::size_t kMaxAgentErrorLength = 1024;
// A message not reported for this long is forgotten (and its next report is a new event).
inline constexpr absl::Duration kAgentErrorMemory = absl::Hours(1);

struct AgentErrorReport {
  std::string message;
  int count = 1;
};

// Decodes `errors`: [{"message": TEXT (1..1024 bytes, no control characters), "count": 1..2^30},
// ...], at most kMaxAgentErrors. Errors are InvalidArgument naming the field.
absl::StatusOr<std::vector<AgentErrorReport>> DecodeAgentErrors(const nlohmann::json& list);

// The recent problems of each host. Thread-safe.
class AgentErrorsByHost {
 public:
  struct Entry {
    std::string message;
    long long count = 0;  // occurrences reported since first_seen
    absl::Time first_seen;
    absl::Time last_seen;
  };
  // Adds a report's problems at `now`; returns those that are new for the host (not seen
  // within kAgentErrorMemory): they become events. One call, one lock, so two reports at once
  // cannot both find a message new. Keeps the kMaxAgentErrors most recently seen per host.
  std::vector<AgentErrorReport> Add(const std::string& host,
                                    const std::vector<AgentErrorReport>& errors, absl::Time now);
  // Takes back an Add whose events could not be written (the agent sends the problems again):
  // the entries it created go, the counts it added are subtracted.
  void Withdraw(const std::string& host, const std::vector<AgentErrorReport>& errors,
                const std::vector<AgentErrorReport>& fresh);
  // The host's problems seen within kAgentErrorMemory of `now`, most recent first.
  [[nodiscard]] std::vector<Entry> Get(const std::string& host, absl::Time now) const;
  void Forget(const std::string& host);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Entry>, std::less<>> hosts_;  // guarded by mu_
};

[[nodiscard]] nlohmann::json AgentErrorsJson(const std::vector<AgentErrorsByHost::Entry>& entries);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_AGENT_ERRORS_H_
