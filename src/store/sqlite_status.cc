#include "store/sqlite_status.h"

#include <sqlite3.h>

#include <string>
#include <system_error>

#include "common/strings.h"

namespace gpufleet::store::internal {

absl::Status SqliteStatus(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return absl::OkStatus();
  // sqlite3_errmsg describes the most recent failure on `db`, which is this one only if the
  // codes agree; otherwise fall back to the generic text of the code.
  std::string reason = sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) reason = sqlite3_errmsg(db);
  const int primary = rc & 0xff;
  if ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_FULL) &&
      db != nullptr) {
    if (int e = sqlite3_system_errno(db); e != 0) {
      StrAppend(&reason, " (errno ", e, ": ", std::generic_category().message(e), ")");
    }
  }
  std::string message = StrCat("store: ", what, ": ", reason);
  switch (primary) {
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_UNIQUE:
          return absl::AlreadyExistsError(message);
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          StrAppend(&message, "; a row it refers to is missing, or rows still refer to it");
          return absl::FailedPreconditionError(message);
        case SQLITE_CONSTRAINT_NOTNULL:
        case SQLITE_CONSTRAINT_CHECK:
          return absl::InvalidArgumentError(message);
        default:
          return absl::FailedPreconditionError(message);
      }
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      StrAppend(&message, "; another process holds the database (busy timeout expired)");
      return absl::UnavailableError(message);
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::ResourceExhaustedError(message);
    case SQLITE_IOERR:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_CANTOPEN:
      return absl::FailedPreconditionError(message);
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
      return absl::PermissionDeniedError(message);
    case SQLITE_INTERRUPT:
      return absl::CancelledError(message);
    case SQLITE_ABORT:
      return absl::AbortedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace gpufleet::store::internal
