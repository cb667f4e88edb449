#ifndef GPUFLEET_AGENT_HTTP_CONTROLLER_API_H_
#define GPUFLEET_AGENT_HTTP_CONTROLLER_API_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/controller_api.h"

namespace gpufleet::agent {

struct HttpControllerOptions {
  std::string server{};   // "http://127.0.0.1:8470" or "https://..."
  std::string ca_file{};  // https: trust these CAs (PEM file) instead of the system's
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration read_timeout = absl::Seconds(15);
};

// ControllerApi over HTTP/1.1 keep-alive (cpp-httplib stays inside the .cc). The credential is
// sent as a Bearer token and never appears in an error message. Not thread-safe: one per agent.
absl::StatusOr<std::unique_ptr<ControllerApi>> NewHttpControllerApi(HttpControllerOptions options);

}  // namespace gpufleet::agent

#endif  // GPUFLEET_AGENT_HTTP_CONTROLLER_API_H_
