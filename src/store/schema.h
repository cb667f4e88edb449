#ifndef GPUFLEET_STORE_SCHEMA_H_
#define GPUFLEET_STORE_SCHEMA_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/sql.h"

// Internal to src/store: the schema as numbered migrations in portable SQL.
namespace gpufleet::store::internal {

struct Migration {
  int version;  // 1, 2, 3, ...: the schema version after it ran
  std::string_view description;
  std::vector<std::string_view> statements;
};

// Every migration this build knows, in order.
const std::vector<Migration>& Migrations();
// The version the last migration leaves; what a fresh database is migrated to.
int LatestSchemaVersion();

// Reads the schema version of the database behind `conn` (0 for an empty database), refuses one
// newer than this build with FailedPrecondition, and applies the missing migrations up to
// `target` (0 = the latest), each in its own write transaction. Returns the version reached.
// `db_name` names the database in messages.
absl::StatusOr<int> Migrate(SqlConn& conn, std::string_view db_name, int target);

// The schema version recorded in the database, 0 for a new one. Runs inside the caller's write
// transaction: it creates the schema_version table (version 0) when it is missing.
absl::StatusOr<int> ReadSchemaVersion(SqlConn& conn);

}  // namespace gpufleet::store::internal

#endif  // GPUFLEET_STORE_SCHEMA_H_
