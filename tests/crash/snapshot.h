#ifndef GPUFLEET_TESTS_CRASH_SNAPSHOT_H_
#define GPUFLEET_TESTS_CRASH_SNAPSHOT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "harness.h"
#include "store/store.h"

namespace gpufleet::crash {

// The event log as read over GET /api/v1/events, round after round: counts by (kind, object) and
// the cursor. Update() reads what was appended since, and first checks that the newest event seen
// before is still there (events are append-only: a seq once read must survive every kill).
class ApiEventLog {
 public:
  // Errors: DataLoss when an event seen before is gone or seqs do not increase; Unavailable when
  // the API does not answer 200.
  absl::Status Update(HttpClient& client);
  [[nodiscard]] const EventCounts& counts() const { return counts_; }
  [[nodiscard]] int64_t last_seq() const { return last_seq_; }

 private:
  int64_t last_seq_ = 0;
  EventCounts counts_;
};

// Fills `out` from GET /api/v1/vms (every page), /hosts, /gpus and /tokens; out.events points at
// `events` (updated first) and out.client at `client`. Errors name the request that failed.
absl::Status ReadApiSnapshot(HttpClient& client, ApiEventLog& events, Snapshot& out);

// Fills `out` and `events` from the store's rows, inside a read transaction.
absl::Status ReadStoreSnapshot(store::ReadTx& tx, EventCounts& events, Snapshot& out);

}  // namespace gpufleet::crash

#endif  // GPUFLEET_TESTS_CRASH_SNAPSHOT_H_
