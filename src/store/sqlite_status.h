#ifndef GPUFLEET_STORE_SQLITE_STATUS_H_
#define GPUFLEET_STORE_SQLITE_STATUS_H_

#include <string_view>

#include "absl/status/status.h"

struct sqlite3;

// Internal to src/store: the one adapter from SQLite result codes to absl::Status.
namespace gpufleet::store::internal {

// The status for SQLite result code `rc` (extended codes welcome) returned while doing `what`
// ("insert vm 'web-1'") on `db` (may be null, e.g. when opening failed before a handle existed).
// OK for SQLITE_OK, SQLITE_ROW and SQLITE_DONE. The message is
//   "store: <what>: <SQLite's message>[; <hint>]"
// e.g. "store: insert vm 'web-1': UNIQUE constraint failed: vms.name". Codes:
//   constraint: primary key / unique -> AlreadyExists; foreign key -> FailedPrecondition;
//               not null / check -> InvalidArgument; others -> FailedPrecondition
//   busy, locked -> Unavailable        full, nomem -> ResourceExhausted
//   ioerr -> Unavailable (with errno)  corrupt, notadb -> DataLoss
//   cantopen -> FailedPrecondition     perm, auth, readonly -> PermissionDenied
//   interrupt -> Cancelled             abort -> Aborted
//   anything else (SQL errors, misuse, schema) -> Internal
absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view what);

}  // namespace gpufleet::store::internal

#endif  // GPUFLEET_STORE_SQLITE_STATUS_H_
