#ifndef GPUFLEET_CLI_ONLINE_EVENTS_H_
#define GPUFLEET_CLI_ONLINE_EVENTS_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

struct EventsOptions {
  bool follow = false;
  std::optional<std::string> kind;    // vm.placed, token.created, ...
  std::optional<std::string> object;  // vm/web-1, host/r730-1, ...
  std::optional<std::int64_t> after;  // events after this sequence number
  int limit = 100;                    // without --follow: at most this many
};

// `gpufleet events`: the audit log, oldest first (GET /api/v1/events, paged). With --follow it
// streams new events (GET /api/v1/events/stream, Server-Sent Events) until Ctrl-C
// (ctx.env->interrupted), printing each as it comes (one JSON object per line for -o json, one
// YAML document each for -o yaml); a dropped connection is resumed with Last-Event-ID after the
// last event printed, with back-off, and a note on ctx.err. A refused token ends it.
absl::Status RunEvents(Context& ctx, const EventsOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_EVENTS_H_
