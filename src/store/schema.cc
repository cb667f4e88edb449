#include "store/schema.h"

#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::store::internal {
namespace {

// Portable DDL only: TEXT, INTEGER and BIGINT columns (booleans 0/1, times Unix microseconds),
// keys chosen by the application, no AUTOINCREMENT, no WITHOUT ROWID, no SQLite type affinity
// tricks. Foreign keys name their ON DELETE rule explicitly; entities.h explains each choice.
// Every mutable table ends with version, created_at, updated_at (see tables.h).
#define GPUFLEET_STORE_META \
  "version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL"

const std::vector<Migration>* BuildMigrations() {
  return new std::vector<Migration>{
      {1,
       "inventory and desired state",
       {
           "CREATE TABLE hosts ("
           " name TEXT NOT NULL PRIMARY KEY,"
           " hypervisor TEXT NOT NULL,"
           " state TEXT NOT NULL,"
           " agent TEXT NOT NULL,"
           " manager_version TEXT NOT NULL,"
           " labels_json TEXT NOT NULL,"
           " last_heartbeat BIGINT,"
           " " GPUFLEET_STORE_META ")",

           "CREATE TABLE gpus ("
           " host TEXT NOT NULL REFERENCES hosts (name) ON DELETE CASCADE,"
           " id TEXT NOT NULL,"
           " board TEXT NOT NULL,"
           " mode TEXT NOT NULL,"
           " carved_type TEXT NOT NULL,"
           " ecc INTEGER NOT NULL,"
           " held INTEGER NOT NULL,"
           " " GPUFLEET_STORE_META ","
           " PRIMARY KEY (host, id))",

           "CREATE TABLE observed_instances ("
           " uuid TEXT NOT NULL PRIMARY KEY,"
           " host TEXT NOT NULL,"
           " gpu TEXT NOT NULL,"
           " vgpu_type TEXT NOT NULL,"
           " vm TEXT NOT NULL,"
           " active INTEGER NOT NULL,"
           " observed_at BIGINT NOT NULL,"
           " " GPUFLEET_STORE_META ","
           " FOREIGN KEY (host, gpu) REFERENCES gpus (host, id) ON DELETE CASCADE)",
           "CREATE INDEX observed_instances_by_gpu ON observed_instances (host, gpu)",

           "CREATE TABLE vms ("
           " name TEXT NOT NULL PRIMARY KEY,"
           " spec_json TEXT NOT NULL,"
           " phase TEXT NOT NULL,"
           " license TEXT NOT NULL,"
           " " GPUFLEET_STORE_META ")",

           "CREATE TABLE desired_instances ("
           " uuid TEXT NOT NULL PRIMARY KEY,"
           " vm TEXT NOT NULL REFERENCES vms (name) ON DELETE CASCADE,"
           " vgpu_index INTEGER NOT NULL,"
           " host TEXT NOT NULL,"
           " gpu TEXT NOT NULL,"
           " vgpu_type TEXT NOT NULL,"
           " placement INTEGER NOT NULL,"
           " " GPUFLEET_STORE_META ","
           " UNIQUE (vm, vgpu_index),"
           " FOREIGN KEY (host, gpu) REFERENCES gpus (host, id) ON DELETE RESTRICT)",
           "CREATE INDEX desired_instances_by_gpu ON desired_instances (host, gpu)",
       }},
      {2,
       "operations and events",
       {
           "CREATE TABLE operations ("
           " id TEXT NOT NULL PRIMARY KEY,"
           " kind TEXT NOT NULL,"
           " state TEXT NOT NULL,"
           " target TEXT NOT NULL,"
           " params_json TEXT NOT NULL,"
           " error TEXT NOT NULL,"
           " " GPUFLEET_STORE_META ")",
           "CREATE INDEX operations_by_state ON operations (state)",

           "CREATE TABLE operation_steps ("
           " operation TEXT NOT NULL REFERENCES operations (id) ON DELETE CASCADE,"
           " step_index INTEGER NOT NULL,"
           " kind TEXT NOT NULL,"
           " state TEXT NOT NULL,"
           " detail_json TEXT NOT NULL,"
           " " GPUFLEET_STORE_META ","
           " PRIMARY KEY (operation, step_index))",

           "CREATE TABLE sequences ("
           " name TEXT NOT NULL PRIMARY KEY,"
           " value BIGINT NOT NULL)",
           "INSERT INTO sequences (name, value) VALUES ('events', 0)",

           "CREATE TABLE events ("
           " seq BIGINT NOT NULL PRIMARY KEY,"
           " time_us BIGINT NOT NULL,"
           " kind TEXT NOT NULL,"
           " object TEXT NOT NULL,"
           " actor TEXT NOT NULL,"
           " message TEXT NOT NULL,"
           " data_json TEXT NOT NULL)",
           "CREATE INDEX events_by_object ON events (object, seq)",
           "CREATE INDEX events_by_kind ON events (kind, seq)",
       }},
      {3,
       "licensing and authentication",
       {
           "CREATE TABLE license_pools ("
           " name TEXT NOT NULL PRIMARY KEY,"
           " edition TEXT NOT NULL,"
           " seats INTEGER NOT NULL,"
           " " GPUFLEET_STORE_META ")",

           "CREATE TABLE license_seats ("
           " pool TEXT NOT NULL REFERENCES license_pools (name) ON DELETE RESTRICT,"
           " vm TEXT NOT NULL REFERENCES vms (name) ON DELETE CASCADE,"
           " leased_at BIGINT NOT NULL,"
           " expires_at BIGINT,"
           " " GPUFLEET_STORE_META ","
           " PRIMARY KEY (pool, vm))",
           "CREATE INDEX license_seats_by_vm ON license_seats (vm)",

           "CREATE TABLE api_tokens ("
           " sha256 TEXT NOT NULL PRIMARY KEY,"
           " name TEXT NOT NULL UNIQUE,"
           " role TEXT NOT NULL,"
           " expires_at BIGINT,"
           " last_used_at BIGINT,"
           " " GPUFLEET_STORE_META ")",

           "CREATE TABLE agent_credentials ("
           " agent TEXT NOT NULL PRIMARY KEY,"
           " secret_sha256 TEXT NOT NULL UNIQUE,"
           " revoked INTEGER NOT NULL,"
           " last_seen_at BIGINT,"
           " " GPUFLEET_STORE_META ")",

           "CREATE TABLE enrolment_tokens ("
           " sha256 TEXT NOT NULL PRIMARY KEY,"
           " name TEXT NOT NULL,"
           " expires_at BIGINT NOT NULL,"
           " used_at BIGINT,"
           " used_by TEXT NOT NULL,"
           " " GPUFLEET_STORE_META ")",
       }},
      {4,
       "who asked for an operation, and cancel requests",
       {
           "ALTER TABLE operations ADD COLUMN actor TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE operations ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0",
       }},
      {5,
       "live migrations waiting for their source host",
       {
           "ALTER TABLE desired_instances ADD COLUMN migrate_from TEXT NOT NULL DEFAULT ''",
       }},
      {6,
       "copies a move's source host still holds",
       {
           "CREATE TABLE leftover_instances ("
           " host TEXT NOT NULL REFERENCES hosts (name) ON DELETE CASCADE,"
           " uuid TEXT NOT NULL,"
           " vm TEXT NOT NULL,"
           " observed_at BIGINT NOT NULL,"
           " " GPUFLEET_STORE_META ","
           " PRIMARY KEY (host, uuid))",
           "CREATE INDEX leftover_instances_by_uuid ON leftover_instances (uuid)",
       }},
  };
}

#undef GPUFLEET_STORE_META

constexpr std::string_view kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration>* migrations = BuildMigrations();
  return *migrations;
}

int LatestSchemaVersion() { return Migrations().back().version; }

absl::StatusOr<int> ReadSchemaVersion(SqlConn& conn) {
  // Creating the table is idempotent and portable; it makes "no table yet" and "version 0" one
  // case. Needs a write transaction.
  GPUFLEET_RETURN_IF_ERROR(conn.Exec(kCreateVersionTable, {}, "create schema_version").status());
  GPUFLEET_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      conn.Query("SELECT version FROM schema_version", {}, "read schema version"));
  if (rows.empty()) {
    GPUFLEET_RETURN_IF_ERROR(conn.Exec("INSERT INTO schema_version (version) VALUES (0)", {},
                                       "initialise schema_version")
                                 .status());
    return 0;
  }
  if (rows.size() > 1) {
    return absl::DataLossError(
        StrCat("store: schema_version holds ", rows.size(), " rows; expected one"));
  }
  const auto* v = std::get_if<int64_t>(&rows.front().front());
  if (v == nullptr || *v < 0 || *v > 1000000) {
    return absl::DataLossError("store: schema_version holds something other than a version");
  }
  return static_cast<int>(*v);
}

absl::StatusOr<int> Migrate(SqlConn& conn, std::string_view db_name, int target) {
  const int latest = LatestSchemaVersion();
  if (target == 0) target = latest;
  if (target < 0 || target > latest) {
    return absl::InvalidArgumentError(
        StrCat("store: schema version ", target, " requested; this build knows 1..", latest));
  }
  GPUFLEET_RETURN_IF_ERROR(conn.Begin(TxKind::kWrite));
  absl::StatusOr<int> current = ReadSchemaVersion(conn);
  if (!current.ok()) {
    conn.Rollback();
    return current.status();
  }
  GPUFLEET_RETURN_IF_ERROR(conn.Commit());
  if (*current > latest) {
    return absl::FailedPreconditionError(
        StrCat("store: ", db_name, " has schema version ", *current,
               ", newer than the latest this build knows (", latest,
               "); it was written by a newer gpufleet: run that version, or restore a backup"));
  }
  int version = *current;
  for (const Migration& m : Migrations()) {
    if (m.version <= version || m.version > target) continue;
    GPUFLEET_RETURN_IF_ERROR(conn.Begin(TxKind::kWrite));
    absl::Status st;
    for (std::string_view statement : m.statements) {
      st =
          conn.Exec(statement, {},
                    StrCat("migrate ", db_name, " to schema ", m.version, " (", m.description, ")"))
              .status();
      if (!st.ok()) break;
    }
    if (st.ok()) {
      st = conn.Exec("UPDATE schema_version SET version = ?", {int64_t{m.version}},
                     "record schema version")
               .status();
    }
    if (st.ok()) st = conn.Commit();
    if (!st.ok()) {
      conn.Rollback();
      return st;
    }
    version = m.version;
  }
  return version;
}

}  // namespace gpufleet::store::internal
